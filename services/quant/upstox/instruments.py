"""The Upstox instrument master: download the gzipped JSON and parse it into ``Instrument``s.

Used by the instrument sync (``quant.sync``; :class:`UpstoxInstrumentSource` satisfies its
``MasterSource`` port) and by anything that needs the universe. Parsing is all or
nothing: a truncated gzip, malformed JSON, or a row missing a required field raises
:class:`~quant.upstox.errors.InstrumentMasterError`, so the sync never applies half a
master. Rows we do not model (segments outside ``quant.core.instruments.SEGMENTS``,
e.g. global indices or mutual funds, and unknown derivative types) are skipped and
counted. Field meanings per UPSTOX.md §4.2: ``tick_size`` is in paise (values below 1
are taken as rupees, as the old CSV had), ``strike_price`` in rupees, ``expiry`` epoch
ms (its IST date is the expiry date).
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from quant.core.clock import IST, NS_PER_MS, ns_to_datetime
from quant.core.instruments import SEGMENTS, Instrument, InstrumentType
from quant.core.money import to_paise
from quant.upstox.config import make_ssl_context
from quant.upstox.constants import ASSETS_BASE, INSTRUMENTS_PATH
from quant.upstox.errors import InstrumentMasterError, UpstoxDecodeError
from quant.upstox.rest_parsing import Obj

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
_DERIVATIVE_TYPES = {
    "FUT": InstrumentType.FUTURE,
    "CE": InstrumentType.CALL,
    "PE": InstrumentType.PUT,
}


@dataclass(slots=True)
class ParseResult:
    instruments: list[Instrument] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _instrument_type(segment: str, raw: str) -> InstrumentType | None:
    if segment.endswith("_INDEX") or raw == "INDEX":
        return InstrumentType.INDEX
    if segment in ("NSE_EQ", "BSE_EQ"):
        return InstrumentType.EQUITY  # NSE series / BSE groups (EQ, BE, SM, A, B, ...)
    return _DERIVATIVE_TYPES.get(raw)


def _tick_paise(ob: Obj) -> int:
    raw = ob.number("tick_size", 5.0)
    paise = to_paise(raw) if 0 < raw < 1 else round(raw)
    return max(paise, 1)


def parse_row(ob: Obj) -> Instrument | None:
    """One master row → ``Instrument``; None if it is a kind we do not model."""
    segment = ob.text("segment")
    if segment not in SEGMENTS:
        return None
    itype = _instrument_type(segment, ob.text("instrument_type"))
    if itype is None:
        return None
    key = ob.text("instrument_key")
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
        lot_size=ob.integer("lot_size", 1) or 1,
        tick_size_paise=_tick_paise(ob),
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


def parse_master(data: bytes, *, name: str = "instrument master") -> ParseResult:
    """Parse a (gzipped or plain) JSON master; raise on any damage."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:
            raise InstrumentMasterError(f"{name}: truncated or corrupt gzip: {e}") from e
    try:
        rows = json.loads(data)
    except ValueError as e:
        raise InstrumentMasterError(f"{name}: malformed JSON: {e}") from e
    if not isinstance(rows, list):
        raise InstrumentMasterError(f"{name}: expected a JSON array of instruments")
    result = ParseResult()
    seen: set[str] = set()
    for i, row in enumerate(rows):
        try:
            inst = parse_row(Obj(row, f"{name}[{i}]"))
        except (UpstoxDecodeError, ValueError) as e:
            raise InstrumentMasterError(f"{name}: row {i} is malformed: {e}") from e
        if inst is None:
            result.skip("unmodelled segment or type")
            continue
        if inst.instrument_key in seen:
            result.skip("duplicate instrument_key")
            continue
        seen.add(inst.instrument_key)
        result.instruments.append(inst)
    return result


class UpstoxInstrumentSource:
    """Downloads ``{assets}/market-quote/instruments/exchange/{NSE,BSE}.json.gz`` and parses."""

    def __init__(
        self,
        assets_base: str = ASSETS_BASE,
        files: Sequence[str] = ("NSE", "BSE"),
        *,
        ca_file: Path | None = None,
        timeout_seconds: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = assets_base.rstrip("/")
        self._files = tuple(files)
        self._ca_file = ca_file
        self._timeout = timeout_seconds
        self._transport = transport
        self.skipped: dict[str, int] = {}

    async def download(self, http: httpx.AsyncClient, name: str, progress: ProgressFn) -> bytes:
        url = self._base + INSTRUMENTS_PATH.format(name=name)
        chunks: list[bytes] = []
        try:
            async with http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InstrumentMasterError(f"{url}: HTTP {response.status_code}")
                encoded = "Content-Encoding" in response.headers
                total = 0 if encoded else int(response.headers.get("Content-Length") or 0)
                done = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    done += len(chunk)
                    progress(f"download {name}", done, total)
        except httpx.HTTPError as e:
            raise InstrumentMasterError(f"{url}: download failed: {e}") from e
        data = b"".join(chunks)
        if total and len(data) != total:
            raise InstrumentMasterError(f"{url}: got {len(data)} of {total} bytes")
        return data

    async def fetch(self, progress: ProgressFn) -> list[Instrument]:
        out: list[Instrument] = []
        async with httpx.AsyncClient(
            transport=self._transport, verify=make_ssl_context(self._ca_file), timeout=self._timeout
        ) as http:
            for name in self._files:
                data = await self.download(http, name, progress)
                result = parse_master(data, name=f"{name}.json.gz")
                for why, n in result.skipped.items():
                    self.skipped[why] = self.skipped.get(why, 0) + n
                out.extend(result.instruments)
                progress(f"parse {name}", len(result.instruments), len(result.instruments))
        log.info("instrument master: %d instruments, skipped %s", len(out), self.skipped)
        return out
