"""Pure parsing of Upstox REST JSON bodies into the domain values of :mod:`.models`.

Called by :class:`quant.upstox.rest.UpstoxRestClient` on every 2xx body, and by tests on
recorded payloads. Every malformed or unexpected body becomes an
:class:`~quant.upstox.errors.UpstoxDecodeError` naming the field path, never a
``KeyError`` or a half-built object. Prices become paise with
:func:`quant.core.money.to_paise`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any, TypeVar, cast

import orjson

from quant.core.clock import NS_PER_MS, NS_PER_SECOND, datetime_to_ns
from quant.core.events import Candle, DepthLevel, FeedOhlc
from quant.core.money import to_paise
from quant.upstox.errors import UpstoxDecodeError
from quant.upstox.models import (
    ExchangeStatus,
    GreeksQuote,
    Holiday,
    LastPrice,
    OhlcQuote,
    OptionChainRow,
    OptionLeg,
    OrderAck,
    OrderDetails,
    PositionRow,
    Quote,
    TradeRow,
    UserProfile,
)

T = TypeVar("T")
_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}


class Obj:
    """A JSON object with typed getters that raise :class:`UpstoxDecodeError` with a path."""

    __slots__ = ("_d", "path")

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise UpstoxDecodeError(f"{path}: expected an object, got {type(value).__name__}")
        self._d: dict[str, object] = value
        self.path = path

    def get(self, key: str, default: object) -> object:
        """The raw value (``default`` if absent); raises if absent and default is missing."""
        value = self._d.get(key, default)
        if value is _MISSING:
            raise UpstoxDecodeError(f"{self.path}.{key}: missing")
        return value

    def text(self, key: str, default: object = None) -> str:
        value = self.get(key, _MISSING if default is None else default)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise UpstoxDecodeError(f"{self.path}.{key}: expected a string, got {value!r}")
        return value

    def number(self, key: str, default: float | None = None) -> float:
        value = self.get(key, _MISSING if default is None else default)
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UpstoxDecodeError(f"{self.path}.{key}: expected a number, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.get(key, _MISSING if default is None else default)
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # exact, even beyond 2**53 (ns timestamps)
        if isinstance(value, float) and value == int(value):
            return int(value)
        raise UpstoxDecodeError(f"{self.path}.{key}: expected an integer, got {value!r}")

    def paise(self, key: str, default: float | None = None) -> int:
        return to_paise(self.number(key, default))

    def obj(self, key: str) -> Obj:
        return Obj(self.get(key, _MISSING), f"{self.path}.{key}")

    def opt_obj(self, key: str) -> Obj | None:
        value = self._d.get(key)
        return None if value is None else Obj(value, f"{self.path}.{key}")

    def array(self, key: str) -> list[object]:
        value = self.get(key, _MISSING)
        if not isinstance(value, list):
            raise UpstoxDecodeError(f"{self.path}.{key}: expected a list, got {value!r}")
        return value

    def items(self) -> list[tuple[str, object]]:
        return list(self._d.items())


_MISSING = object()


def loads(body: bytes | str) -> Any:
    """JSON with orjson (~4x faster on a month of candles); what it refuses and the
    standard library takes (``NaN``, integers beyond 64 bits) falls back to ``json``."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def success_data(body: bytes, what: str) -> object:
    """Parse ``{"status":"success","data":...}`` and return ``data``."""
    try:
        doc = loads(body)
    except ValueError as e:
        raise UpstoxDecodeError(f"{what}: response is not JSON ({len(body)} bytes)") from e
    root = Obj(doc, what)
    status = root.text("status", "")
    if status != "success":
        raise UpstoxDecodeError(f"{what}: status is {status!r}, expected 'success'")
    return root.get("data", _MISSING)


def _each(items: list[object], path: str, build: Callable[[Obj], T]) -> list[T]:
    return [build(Obj(item, f"{path}[{i}]")) for i, item in enumerate(items)]


_TS_START = itemgetter(2)  # Candle.ts_start


def parse_candles(body: bytes, instrument_key: str, unit: str, interval: int) -> list[Candle]:
    """Historical/intraday candle V3 → domain candles, oldest first."""
    data = Obj(success_data(body, "historical candles"), "data")
    seconds = _UNIT_SECONDS.get(unit, 0) * interval
    rows = data.array("candles")
    try:
        out = _candles_fast(rows, instrument_key, seconds)
    except (TypeError, ValueError, IndexError, AttributeError, OverflowError):
        out = [_candle(row, i, instrument_key, seconds) for i, row in enumerate(rows)]
    out.sort(key=_TS_START)
    return out


def _candle(row: object, i: int, instrument_key: str, seconds: int) -> Candle:
    """One candle row, or :class:`UpstoxDecodeError` naming it."""
    path = f"data.candles[{i}]"
    if not isinstance(row, list) or len(row) < 6:
        raise UpstoxDecodeError(f"{path}: expected [ts, o, h, l, c, volume, oi?], got {row!r}")
    try:
        ts = datetime_to_ns(datetime.fromisoformat(str(row[0])))
        o, h, lo, c = (to_paise(float(x)) for x in row[1:5])
        volume = int(row[5])
        oi = int(row[6]) if len(row) > 6 and row[6] is not None else 0
    except (TypeError, ValueError, OverflowError) as e:
        raise UpstoxDecodeError(f"{path}: bad candle {row!r}: {e}") from e
    return Candle(instrument_key, seconds, ts, o, h, lo, c, volume, oi)


#: timestamp text -> UTC ns: every instrument's candles carry the same minutes
_TS_SEEN: dict[str, int] = {}
_TS_SEEN_MAX = 200_000


def _ts_ns(text: str) -> int:
    """UTC ns of an ISO-8601 timestamp with an offset and whole seconds (else raises)."""
    ns = _TS_SEEN.get(text)
    if ns is not None:
        return ns
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None or dt.microsecond:
        raise ValueError("naive or sub-second timestamp")
    ns = int(dt.timestamp()) * NS_PER_SECOND
    if len(_TS_SEEN) >= _TS_SEEN_MAX:
        _TS_SEEN.clear()
    _TS_SEEN[text] = ns
    return ns


def _candles_fast(rows: list[object], instrument_key: str, seconds: int) -> list[Candle]:
    """:func:`_candle` for every row, column by column, without its per-row checks: a
    month of minutes is ~8,000 rows per request. Any row it cannot take raises, and the
    caller parses them all again one by one (which names the bad row); the values are
    the same (prices rounded as :func:`~quant.core.money.to_paise` does)."""
    if any(type(r) is not list or len(r) < 6 for r in rows):
        raise ValueError("not a candle row")
    table = cast("list[list[Any]]", rows)
    ts = [_ts_ns(r[0]) for r in table]
    o, h, lo, c = (
        [int(x + 0.5) if (x := float(r[i]) * 100) >= 0 else -int(-x + 0.5) for r in table]
        for i in (1, 2, 3, 4)
    )
    volume = [int(r[5]) for r in table]
    oi = [int(r[6]) if len(r) > 6 and r[6] is not None else 0 for r in table]
    fields = zip(repeat(instrument_key), repeat(seconds), ts, o, h, lo, c, volume, oi, repeat(0))
    return cast("list[Candle]", list(map(tuple.__new__, repeat(Candle), fields)))


def _depth(ob: Obj) -> tuple[DepthLevel, ...]:
    depth = ob.opt_obj("depth")
    if depth is None:
        return ()
    buys = _each(
        depth.array("buy"), f"{depth.path}.buy", lambda x: (x.paise("price"), x.integer("quantity"))
    )
    sells = _each(
        depth.array("sell"),
        f"{depth.path}.sell",
        lambda x: (x.paise("price"), x.integer("quantity")),
    )
    return tuple(
        DepthLevel(bp, bq, ap, aq) for (bp, bq), (ap, aq) in zip(buys, sells, strict=False)
    )


def _quote_time(value: object) -> int:
    """The full quote's ``timestamp`` (ISO-8601 with an offset) as UTC ns; 0 when it is
    missing or not such a time (it only dates the quote; nothing else depends on it)."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return 0
    return datetime_to_ns(moment) if moment.tzinfo is not None else 0


def _quote(ob: Obj) -> Quote:
    ohlc = ob.opt_obj("ohlc")
    ltt = ob.get("last_trade_time", "0")
    try:
        ltt_ns = int(str(ltt or 0)) * NS_PER_MS
    except ValueError as e:
        raise UpstoxDecodeError(f"{ob.path}.last_trade_time: not epoch ms: {ltt!r}") from e
    return Quote(
        instrument_key=ob.text("instrument_token"),
        symbol=ob.text("symbol", ""),
        last_price=ob.paise("last_price"),
        volume=ob.integer("volume", 0),
        average_price=ob.paise("average_price", 0),
        oi=ob.integer("oi", 0),
        net_change=ob.paise("net_change", 0),
        total_buy_quantity=ob.integer("total_buy_quantity", 0),
        total_sell_quantity=ob.integer("total_sell_quantity", 0),
        lower_circuit=ob.paise("lower_circuit_limit", 0),
        upper_circuit=ob.paise("upper_circuit_limit", 0),
        last_trade_time_ns=ltt_ns,
        open=ohlc.paise("open", 0) if ohlc else 0,
        high=ohlc.paise("high", 0) if ohlc else 0,
        low=ohlc.paise("low", 0) if ohlc else 0,
        close=ohlc.paise("close", 0) if ohlc else 0,
        depth=_depth(ob),
        timestamp_ns=_quote_time(ob.get("timestamp", "")),
    )


def parse_full_quotes(body: bytes) -> dict[str, Quote]:
    """Full market quotes, re-keyed by instrument_key (Upstox keys them by symbol)."""
    data = Obj(success_data(body, "market quote"), "data")
    quotes = (_quote(Obj(v, f"data[{k!r}]")) for k, v in data.items())
    return {q.instrument_key: q for q in quotes}


def parse_ltp(body: bytes) -> dict[str, LastPrice]:
    """LTP V3 quotes, re-keyed by instrument_key."""
    data = Obj(success_data(body, "ltp"), "data")
    out: dict[str, LastPrice] = {}
    for k, v in data.items():
        ob = Obj(v, f"data[{k!r}]")
        key = ob.text("instrument_token")
        out[key] = LastPrice(
            key,
            ob.paise("last_price"),
            ob.integer("ltq", 0),
            ob.integer("volume", 0),
            ob.paise("cp", 0),
        )
    return out


def _bar(ob: Obj | None, interval: str) -> FeedOhlc | None:
    if ob is None:
        return None
    return FeedOhlc(
        interval,
        ob.paise("open", 0),
        ob.paise("high", 0),
        ob.paise("low", 0),
        ob.paise("close", 0),
        ob.integer("volume", 0),
        ob.integer("ts", 0) * NS_PER_MS,
    )


def parse_ohlc(body: bytes, interval: str) -> dict[str, OhlcQuote]:
    """OHLC V3 quotes, re-keyed by instrument_key."""
    data = Obj(success_data(body, "ohlc"), "data")
    out: dict[str, OhlcQuote] = {}
    for k, v in data.items():
        ob = Obj(v, f"data[{k!r}]")
        key = ob.text("instrument_token")
        prev, live = (
            _bar(ob.opt_obj("prev_ohlc"), interval),
            _bar(ob.opt_obj("live_ohlc"), interval),
        )
        out[key] = OhlcQuote(key, ob.paise("last_price"), prev, live)
    return out


def parse_option_greeks(body: bytes) -> dict[str, GreeksQuote]:
    """Option greeks V3, re-keyed by instrument_key."""
    data = Obj(success_data(body, "option greeks"), "data")
    out: dict[str, GreeksQuote] = {}
    for k, v in data.items():
        ob = Obj(v, f"data[{k!r}]")
        key = ob.text("instrument_token")
        out[key] = GreeksQuote(
            instrument_key=key,
            last_price=ob.paise("last_price"),
            ltq=ob.integer("ltq", 0),
            volume=ob.integer("volume", 0),
            close_price=ob.paise("cp", 0),
            oi=ob.integer("oi", 0),
            iv=ob.number("iv", 0),
            delta=ob.number("delta", 0),
            gamma=ob.number("gamma", 0),
            theta=ob.number("theta", 0),
            vega=ob.number("vega", 0),
        )
    return out


def _leg(ob: Obj | None) -> OptionLeg | None:
    if ob is None:
        return None
    md = ob.obj("market_data")
    gk = ob.obj("option_greeks")
    return OptionLeg(
        instrument_key=ob.text("instrument_key"),
        ltp=md.paise("ltp", 0),
        volume=md.integer("volume", 0),
        oi=md.integer("oi", 0),
        close_price=md.paise("close_price", 0),
        bid_price=md.paise("bid_price", 0),
        bid_quantity=md.integer("bid_qty", 0),
        ask_price=md.paise("ask_price", 0),
        ask_quantity=md.integer("ask_qty", 0),
        prev_oi=md.integer("prev_oi", 0),
        iv=gk.number("iv", 0),
        delta=gk.number("delta", 0),
        gamma=gk.number("gamma", 0),
        theta=gk.number("theta", 0),
        vega=gk.number("vega", 0),
        pop=gk.number("pop", 0),
    )


def _parse_date(value: str, path: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise UpstoxDecodeError(f"{path}: expected YYYY-MM-DD, got {value!r}") from e


def parse_option_chain(body: bytes) -> list[OptionChainRow]:
    """Put/call option chain, sorted by strike."""
    data = success_data(body, "option chain")
    if not isinstance(data, list):
        raise UpstoxDecodeError("option chain: data is not a list")

    def row(ob: Obj) -> OptionChainRow:
        return OptionChainRow(
            expiry=_parse_date(ob.text("expiry"), f"{ob.path}.expiry"),
            strike_paise=ob.paise("strike_price"),
            underlying_key=ob.text("underlying_key"),
            underlying_spot=ob.paise("underlying_spot_price", 0),
            pcr=ob.number("pcr", 0),
            call=_leg(ob.opt_obj("call_options")),
            put=_leg(ob.opt_obj("put_options")),
        )

    rows = _each(data, "data", row)
    rows.sort(key=lambda r: r.strike_paise)
    return rows


def parse_holidays(body: bytes) -> list[Holiday]:
    data = success_data(body, "holidays")
    if not isinstance(data, list):
        raise UpstoxDecodeError("holidays: data is not a list")

    def row(ob: Obj) -> Holiday:
        closed = ob.get("closed_exchanges", [])
        if not isinstance(closed, list) or not all(isinstance(x, str) for x in closed):
            raise UpstoxDecodeError(f"{ob.path}.closed_exchanges: expected a list of strings")
        return Holiday(
            date=_parse_date(ob.text("date")[:10], f"{ob.path}.date"),
            description=ob.text("description", ""),
            holiday_type=ob.text("holiday_type", ""),
            closed_exchanges=tuple(closed),
        )

    return _each(data, "data", row)


def parse_market_status(body: bytes) -> ExchangeStatus:
    ob = Obj(success_data(body, "market status"), "data")
    return ExchangeStatus(
        ob.text("exchange"), ob.text("status"), ob.integer("last_updated", 0) * NS_PER_MS
    )


def parse_user_profile(body: bytes) -> UserProfile:
    ob = Obj(success_data(body, "user profile"), "data")
    return UserProfile(ob.text("user_id"), ob.text("user_name", ""))


def parse_order_ack(body: bytes, what: str) -> OrderAck:
    """Place (``order_ids``), modify/cancel (``order_id``) responses with metadata latency."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise UpstoxDecodeError(f"{what}: response is not JSON ({len(body)} bytes)") from e
    root = Obj(doc, what)
    data = Obj(success_data(body, what), "data")
    ids_raw = data.get("order_ids", None)
    if ids_raw is None:
        ids: tuple[str, ...] = (data.text("order_id"),)
    elif isinstance(ids_raw, list) and all(isinstance(x, str) for x in ids_raw):
        ids = tuple(ids_raw)
    else:
        raise UpstoxDecodeError(f"{what}: data.order_ids is not a list of strings")
    meta = root.opt_obj("metadata")
    latency = meta.integer("latency", 0) if meta is not None else None
    return OrderAck(ids, latency)


def _order(ob: Obj) -> OrderDetails:
    return OrderDetails(
        order_id=ob.text("order_id"),
        status=ob.text("status"),
        instrument_key=ob.text("instrument_token", ""),
        transaction_type=ob.text("transaction_type", ""),
        order_type=ob.text("order_type", ""),
        product=ob.text("product", ""),
        quantity=ob.integer("quantity", 0),
        filled_quantity=ob.integer("filled_quantity", 0),
        pending_quantity=ob.integer("pending_quantity", 0),
        price=ob.paise("price", 0),
        trigger_price=ob.paise("trigger_price", 0),
        average_price=ob.paise("average_price", 0),
        tag=ob.text("tag", ""),
        status_message=ob.text("status_message", ""),
        exchange_order_id=ob.text("exchange_order_id", ""),
        order_timestamp=ob.text("order_timestamp", ""),
    )


def parse_order_details(body: bytes) -> OrderDetails:
    return _order(Obj(success_data(body, "order details"), "data"))


def parse_order_update(text: str | bytes) -> OrderDetails | None:
    """A portfolio-stream frame: its order, or None for other update types (position...)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise UpstoxDecodeError(f"portfolio update is not JSON ({len(text)} bytes)") from e
    ob = Obj(doc, "portfolio update")
    if ob.text("update_type", "order") != "order":
        return None
    return _order(ob)


def _listed(body: bytes, what: str, build: Callable[[Obj], T]) -> list[T]:
    """A success response whose ``data`` is a list of objects, each built by ``build``."""
    data = success_data(body, what)
    if not isinstance(data, list):
        raise UpstoxDecodeError(f"{what}: data is not a list")
    return _each(data, "data", build)


def parse_order_book(body: bytes) -> list[OrderDetails]:
    return _listed(body, "order book", _order)


def _trade(ob: Obj) -> TradeRow:
    return TradeRow(
        trade_id=ob.text("trade_id"),
        order_id=ob.text("order_id"),
        instrument_key=ob.text("instrument_token"),
        transaction_type=ob.text("transaction_type"),
        product=ob.text("product", ""),
        quantity=ob.integer("quantity"),
        price=ob.paise("average_price"),
    )


def parse_trades(body: bytes) -> list[TradeRow]:
    return _listed(body, "trades for day", _trade)


def _position(ob: Obj) -> PositionRow:
    return PositionRow(
        instrument_key=ob.text("instrument_token"),
        product=ob.text("product", ""),
        quantity=ob.integer("quantity"),
        day_buy_quantity=ob.integer("day_buy_quantity", 0),
        day_sell_quantity=ob.integer("day_sell_quantity", 0),
        day_buy_value=ob.paise("day_buy_value", 0),
        day_sell_value=ob.paise("day_sell_value", 0),
    )


def parse_positions(body: bytes) -> list[PositionRow]:
    return _listed(body, "positions", _position)


def parse_authorized_feed_url(body: bytes) -> str:
    """``/v3/feed/market-data-feed/authorize`` → the single-use ``wss://`` URL."""
    ob = Obj(success_data(body, "feed authorize"), "data")
    url = ob.text("authorized_redirect_uri", "") or ob.text("authorizedRedirectUri", "")
    if not url.startswith(("wss://", "ws://")):
        raise UpstoxDecodeError(f"feed authorize: not a websocket URL: {url[:60]!r}")
    return url
