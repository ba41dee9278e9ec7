"""The Upstox instrument master: download the gzipped JSON and parse it into ``Instrument``s.

Used by the instrument sync (``quant.sync``; :class:`UpstoxInstrumentSource` satisfies its
``MasterSource`` port) and by anything that needs the universe. A damaged *file* raises
:class:`~quant.upstox.errors.InstrumentMasterError` (a truncated or corrupt gzip, a short
body, malformed JSON, not a JSON array), so the sync never applies half a master. A
damaged *row* does not: rows that cannot be parsed, or whose values are impossible
(:mod:`quant.core.instrument_checks`: non-positive lot or tick size, no key or symbol, a
key or a segment's trading symbol listed twice), are dropped and counted per segment in
:attr:`UpstoxInstrumentSource.rejected`; the sync refuses the whole master when there
are too many of them. Rows we do not model (segments outside
``quant.core.instruments.SEGMENTS``, e.g. global indices or mutual funds, and unknown
derivative types) are skipped and counted.

Size limits: the download is streamed and abandoned as soon as it passes
``max_download_bytes`` (a ``Content-Length`` over it is refused before reading), and the
gzip is inflated incrementally and refused past ``max_master_bytes`` (a gzip bomb never
reaches memory); both raise :class:`~quant.upstox.errors.InstrumentMasterTooLarge`.

Field meanings per UPSTOX.md §4.2: ``tick_size`` is in paise (values below 1 are taken
as rupees, as the old CSV had), ``strike_price`` in rupees, ``expiry`` epoch ms (its IST
date is the expiry date).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from quant.core.clock import IST, NS_PER_MS, ns_to_datetime
from quant.core.instrument_checks import MALFORMED, NO_SEGMENT, Screened, screen_instruments
from quant.core.instruments import SEGMENTS, Instrument, InstrumentType
from quant.core.money import to_paise
from quant.upstox.config import make_ssl_context
from quant.upstox.constants import ASSETS_BASE, INSTRUMENTS_PATH
from quant.upstox.errors import (
    InstrumentMasterError,
    InstrumentMasterTooLarge,
    UpstoxDecodeError,
)
from quant.upstox.rest_parsing import Obj

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024  # a real NSE.json.gz is a few MB (UPSTOX.md §4.4)
MAX_MASTER_BYTES = 512 * 1024 * 1024  # complete.json is ~60 MB inflated
_DERIVATIVE_TYPES = {
    "FUT": InstrumentType.FUTURE,
    "CE": InstrumentType.CALL,
    "PE": InstrumentType.PUT,
}


@dataclass(slots=True)
class ParseResult:
    """The possible rows of one file, what was skipped (not modelled) and what was
    rejected (impossible: ``rejected[(segment, reason)] = rows``, with an example each)."""

    instruments: list[Instrument] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _instrument_type(segment: str, raw: str) -> InstrumentType | None:
    if segment.endswith("_INDEX") or raw == "INDEX":
        return InstrumentType.INDEX
    if segment in ("NSE_EQ", "BSE_EQ"):
        return InstrumentType.EQUITY  # NSE series / BSE groups (EQ, BE, SM, A, B, ...)
    return _DERIVATIVE_TYPES.get(raw)


def _tick_paise(ob: Obj, itype: InstrumentType) -> int:
    """The tick in paise, as given: a non-positive tick is kept for the screen to reject
    (an index, never traded, gets 1 paisa rather than a rejection)."""
    raw = ob.number("tick_size", 5.0)
    paise = to_paise(raw) if 0 < raw < 1 else round(raw)
    return max(paise, 1) if itype is InstrumentType.INDEX else paise


def _lot_size(ob: Obj, itype: InstrumentType) -> int:
    """The lot size, as given (an index has none: 1)."""
    if itype is InstrumentType.INDEX:
        return ob.integer("lot_size", 1) or 1
    return ob.integer("lot_size", 1)


def parse_row(ob: Obj) -> Instrument | None:
    """One master row → ``Instrument``; None if it is a kind we do not model."""
    segment = ob.text("segment")
    if segment not in SEGMENTS:
        return None
    itype = _instrument_type(segment, ob.text("instrument_type"))
    if itype is None:
        return None
    key = ob.text("instrument_key", "")
    if not key or not ob.text("trading_symbol", ""):
        return _keyless(ob, segment, itype)
    if not key.startswith(segment + "|") or len(key) <= len(segment) + 1:
        raise UpstoxDecodeError(f"{ob.path}: instrument_key {key!r} does not match {segment}")
    expiry_ms = ob.integer("expiry", 0)
    strike = ob.number("strike_price", 0.0)
    return Instrument(
        instrument_key=key,
        trading_symbol=ob.text("trading_symbol"),
        name=ob.text("name", ""),
        exchange=ob.text("exchange"),
        segment=segment,
        instrument_type=itype,
        lot_size=_lot_size(ob, itype),
        tick_size_paise=_tick_paise(ob, itype),
        freeze_quantity=int(ob.number("freeze_quantity", 0.0)),
        exchange_token=str(ob.get("exchange_token", "") or ""),
        isin=ob.text("isin", ""),
        expiry=ns_to_datetime(expiry_ms * NS_PER_MS, IST).date() if expiry_ms else None,
        strike_paise=to_paise(strike)
        if itype in (InstrumentType.CALL, InstrumentType.PUT)
        else None,
        underlying_key=ob.text("underlying_key", ""),
        underlying_symbol=ob.text("underlying_symbol", ""),
        weekly=bool(ob.get("weekly", False)),
    )


def _keyless(ob: Obj, segment: str, itype: InstrumentType) -> Instrument:
    """A row without an instrument key: returned for the screen to count and reject."""
    return Instrument("", ob.text("trading_symbol", ""), "", "", segment, itype)


def gunzip_limited(data: bytes, limit: int, name: str) -> bytes:
    """Inflate a (possibly multi-member) gzip, refusing output past ``limit`` bytes."""
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            chunk = inflater.decompress(rest, limit - size + 1)
            while chunk:
                size += len(chunk)
                out.append(chunk)
                if size > limit:
                    raise InstrumentMasterTooLarge(
                        f"{name}: inflates to more than {limit:,} bytes "
                        "(the max_master_bytes limit); refusing it"
                    )
                chunk = inflater.decompress(inflater.unconsumed_tail, limit - size + 1)
        except zlib.error as e:
            raise InstrumentMasterError(f"{name}: truncated or corrupt gzip: {e}") from e
        if not inflater.eof:
            raise InstrumentMasterError(f"{name}: truncated or corrupt gzip: ends mid-stream")
        rest = inflater.unused_data.lstrip(b"\0")
    return b"".join(out)


def _segment_of(row: object) -> str:
    segment = row.get("segment") if isinstance(row, dict) else None
    return segment if isinstance(segment, str) and segment in SEGMENTS else NO_SEGMENT


def parse_master(
    data: bytes, *, name: str = "instrument master", max_bytes: int = MAX_MASTER_BYTES
) -> ParseResult:
    """Parse a (gzipped or plain) JSON master: raise on a damaged file, drop and count
    damaged or impossible rows (see the module docstring)."""
    if data[:2] == b"\x1f\x8b":
        data = gunzip_limited(data, max_bytes, name)
    elif len(data) > max_bytes:
        raise InstrumentMasterTooLarge(f"{name}: {len(data):,} bytes > {max_bytes:,}")
    try:
        rows = json.loads(data)
    except ValueError as e:
        raise InstrumentMasterError(f"{name}: malformed JSON: {e}") from e
    if not isinstance(rows, list):
        raise InstrumentMasterError(f"{name}: expected a JSON array of instruments")
    result = ParseResult()
    candidates: list[Instrument] = []
    malformed = Screened()
    for i, row in enumerate(rows):
        try:
            inst = parse_row(Obj(row, f"{name}[{i}]"))
        except (UpstoxDecodeError, ValueError) as e:
            malformed.drop(_segment_of(row), MALFORMED, str(e))
            continue
        if inst is None:
            result.skip("unmodelled segment or type")
            continue
        candidates.append(inst)
    screened = screen_instruments(candidates)
    screened.merge(malformed)
    result.instruments = screened.kept
    result.rejected = screened.dropped
    result.examples = screened.examples
    if screened.exact_copies:
        result.skipped["exact duplicate row"] = screened.exact_copies
    return result


def covered_segments(files: Sequence[str]) -> frozenset[str]:
    """The segments a set of master files lists (``complete`` lists them all)."""
    if any(f.lower() == "complete" for f in files):
        return SEGMENTS
    prefixes = tuple(f.upper() + "_" for f in files)
    return frozenset(s for s in SEGMENTS if s.startswith(prefixes))


class UpstoxInstrumentSource:
    """Downloads ``{assets}/market-quote/instruments/exchange/{NSE,BSE}.json.gz`` and parses.

    After :meth:`fetch`, :attr:`rejected` / :attr:`rejected_examples` hold the dropped
    impossible rows of the whole master and :attr:`skipped` the unmodelled ones.
    """

    def __init__(
        self,
        assets_base: str = ASSETS_BASE,
        files: Sequence[str] = ("NSE", "BSE"),
        *,
        ca_file: Path | None = None,
        timeout_seconds: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        max_master_bytes: int = MAX_MASTER_BYTES,
    ) -> None:
        self._base = assets_base.rstrip("/")
        self._files = tuple(files)
        self._ca_file = ca_file
        self._timeout = timeout_seconds
        self._transport = transport
        self._max_download = max_download_bytes
        self._max_master = max_master_bytes
        self.skipped: dict[str, int] = {}
        self.rejected: dict[tuple[str, str], int] = {}
        self.rejected_examples: dict[str, str] = {}

    @property
    def segments(self) -> frozenset[str]:
        """The segments this source's files list."""
        return covered_segments(self._files)

    def _too_large(self, url: str, size: int) -> InstrumentMasterTooLarge:
        return InstrumentMasterTooLarge(
            f"{url}: download over the size limit: {size:,} bytes > {self._max_download:,} "
            "(max_download_bytes); refusing it"
        )

    async def download(self, http: httpx.AsyncClient, name: str, progress: ProgressFn) -> bytes:
        """The file's body, streamed; abandoned as soon as it passes the size limit."""
        url = self._base + INSTRUMENTS_PATH.format(name=name)
        chunks: list[bytes] = []
        try:
            async with http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InstrumentMasterError(f"{url}: HTTP {response.status_code}")
                encoded = "Content-Encoding" in response.headers
                total = 0 if encoded else int(response.headers.get("Content-Length") or 0)
                if total > self._max_download:
                    raise self._too_large(url, total)
                done = 0
                async for chunk in response.aiter_bytes():
                    done += len(chunk)
                    if done > self._max_download:
                        raise self._too_large(url, done)
                    chunks.append(chunk)
                    progress(f"download {name}", done, total)
        except httpx.HTTPError as e:
            raise InstrumentMasterError(f"{url}: download failed: {e}") from e
        data = b"".join(chunks)
        if total and len(data) != total:
            raise InstrumentMasterError(f"{url}: got {len(data)} of {total} bytes")
        return data

    async def fetch(self, progress: ProgressFn) -> list[Instrument]:
        out: list[Instrument] = []
        self.skipped, self.rejected, self.rejected_examples = {}, {}, {}
        async with httpx.AsyncClient(
            transport=self._transport, verify=make_ssl_context(self._ca_file), timeout=self._timeout
        ) as http:
            for name in self._files:
                data = await self.download(http, name, progress)
                result = parse_master(data, name=f"{name}.json.gz", max_bytes=self._max_master)
                for why, n in result.skipped.items():
                    self.skipped[why] = self.skipped.get(why, 0) + n
                for key, n in result.rejected.items():
                    self.rejected[key] = self.rejected.get(key, 0) + n
                for why, example in result.examples.items():
                    self.rejected_examples.setdefault(why, example)
                out.extend(result.instruments)
                progress(f"parse {name}", len(result.instruments), len(result.instruments))
        if self.rejected:
            log.warning(
                "instrument master: dropped %d impossible rows: %s (e.g. %s)",
                sum(self.rejected.values()),
                ", ".join(f"{seg} {why}: {n}" for (seg, why), n in sorted(self.rejected.items())),
                self.rejected_examples,
            )
        log.info("instrument master: %d instruments, skipped %s", len(out), self.skipped)
        return out
