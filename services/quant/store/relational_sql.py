"""SQL and row conversions shared by the PostgreSQL and SQLite relational adapters.

Statements are written once with ``%s`` placeholders (the SQLite adapter rewrites them
to ``?``) in SQL both databases run identically, so the two adapters cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.store.ports import ApiKeyRecord, UserRecord

INSTRUMENT_COLUMNS = (
    "instrument_key", "trading_symbol", "name", "exchange", "segment", "instrument_type",
    "lot_size", "tick_size_paise", "freeze_quantity", "exchange_token", "isin", "expiry",
    "strike_paise", "underlying_key", "underlying_symbol", "weekly",
)  # fmt: skip
_ICOLS = ", ".join(INSTRUMENT_COLUMNS)
ORDER_COLUMNS = (
    "client_order_id", "instrument_key", "side", "order_type", "quantity", "status",
    "ts_event", "ts_init", "broker_order_id", "product", "validity", "price_paise",
    "trigger_price_paise", "filled_quantity", "filled_value_paise", "message", "strategy",
    "mode", "reason", "algo_name",
)  # fmt: skip
_OCOLS = ", ".join(ORDER_COLUMNS)

# Segment preference when a trading symbol exists on several segments.
_SEGMENT_RANK = (
    "CASE segment WHEN 'NSE_EQ' THEN 0 WHEN 'NSE_INDEX' THEN 1 WHEN 'NSE_FO' THEN 2 "
    "WHEN 'BSE_EQ' THEN 3 WHEN 'BSE_INDEX' THEN 4 WHEN 'BSE_FO' THEN 5 ELSE 6 END"
)

GET_INSTRUMENT = f"SELECT {_ICOLS} FROM instruments WHERE instrument_key = %s"  # noqa: S608
RESOLVE_SYMBOL = (
    f"SELECT {_ICOLS} FROM instruments WHERE upper(trading_symbol) = upper(%s) "  # noqa: S608
    f"AND NOT expired AND (%s = '' OR segment = %s) ORDER BY {_SEGMENT_RANK}, instrument_key "
    "LIMIT 1"
)
SEARCH = (
    f"SELECT {_ICOLS} FROM instruments WHERE NOT expired "  # noqa: S608
    "AND (upper(trading_symbol) LIKE %s ESCAPE '\\' OR upper(name) LIKE %s ESCAPE '\\' "
    "OR upper(instrument_key) = %s OR upper(instrument_key) LIKE %s ESCAPE '\\') "
    "ORDER BY CASE WHEN upper(trading_symbol) = %s THEN 0 "
    "WHEN upper(instrument_key) = %s OR upper(instrument_key) LIKE %s ESCAPE '\\' THEN 0 "
    "WHEN upper(trading_symbol) LIKE %s ESCAPE '\\' THEN 1 "
    "WHEN upper(trading_symbol) LIKE %s ESCAPE '\\' THEN 2 ELSE 3 END, "
    f"{_SEGMENT_RANK}, length(trading_symbol), trading_symbol, instrument_key LIMIT %s"
)
MARK_EXPIRED = "UPDATE instruments SET expired = TRUE WHERE expiry < %s AND NOT expired"
LIVE_SEGMENT_COUNTS = (
    "SELECT segment, count(*) FROM instruments WHERE NOT expired "
    "AND (expiry IS NULL OR expiry >= %s) GROUP BY segment"
)
SELECT_ALL_INSTRUMENTS = f"SELECT {_ICOLS} FROM instruments"  # noqa: S608
LIST_INSTRUMENTS = f"SELECT {_ICOLS} FROM instruments WHERE NOT expired ORDER BY instrument_key"  # noqa: S608
INSTRUMENTS_VERSION = "SELECT count(*), max(updated_at) FROM instruments WHERE NOT expired"
INSERT_INSTRUMENT = (
    f"INSERT INTO instruments ({_ICOLS}) VALUES "  # noqa: S608
    f"({', '.join('%s' for _ in INSTRUMENT_COLUMNS)})"
)
UPDATE_INSTRUMENT = (
    "UPDATE instruments SET "  # noqa: S608
    + ", ".join(f"{c} = %s" for c in INSTRUMENT_COLUMNS[1:])
    + ", updated_at = CURRENT_TIMESTAMP WHERE instrument_key = %s"
)
INSERT_ORDER = (
    f"INSERT INTO executed_orders ({_OCOLS}) VALUES "  # noqa: S608
    f"({', '.join('%s' for _ in ORDER_COLUMNS)})"
)
LIST_ORDERS = f"SELECT {_OCOLS} FROM executed_orders ORDER BY id DESC LIMIT %s"  # noqa: S608
LIST_ORDERS_SINCE = f"SELECT {_OCOLS} FROM executed_orders WHERE ts_init >= %s ORDER BY id"  # noqa: S608
LIST_ORDERS_OF = (
    f"SELECT {_OCOLS} FROM executed_orders WHERE client_order_id = %s "  # noqa: S608
    "ORDER BY id DESC LIMIT %s"
)
_UCOLS = "username, secret_hash, role, disabled"
SAVE_USER = (
    f"INSERT INTO users ({_UCOLS}) VALUES (%s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT (username) DO UPDATE SET secret_hash = excluded.secret_hash, "
    "role = excluded.role, disabled = excluded.disabled, updated_at = CURRENT_TIMESTAMP"
)
CREATE_USER = (
    f"INSERT INTO users ({_UCOLS}) VALUES (%s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT (username) DO NOTHING"
)
GET_USER = f"SELECT {_UCOLS} FROM users WHERE username = %s"  # noqa: S608
LIST_USERS = f"SELECT {_UCOLS} FROM users ORDER BY username"  # noqa: S608
SAVE_API_KEY = "INSERT INTO api_keys (key_id, username, secret_hash) VALUES (%s, %s, %s)"
GET_API_KEY = "SELECT key_id, username, secret_hash FROM api_keys WHERE key_id = %s"


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_args(query: str, limit: int) -> tuple[Any, ...]:
    """Arguments of :data:`SEARCH`: the text in a symbol or name, or the whole instrument
    key, or the key's identifier (an ISIN for equities: ``NSE_EQ|<ISIN>``)."""
    q = query.strip().upper()
    contains, prefix = f"%{like_escape(q)}%", f"{like_escape(q)}%"
    identifier = f"%|{like_escape(q)}"
    return (contains, contains, q, identifier, q, q, identifier, prefix, contains, limit)


def resolve_args(trading_symbol: str, segment: str | None) -> tuple[Any, ...]:
    return (trading_symbol.strip(), segment or "", segment or "")


def instrument_row(i: Instrument) -> tuple[Any, ...]:
    return (
        i.instrument_key, i.trading_symbol, i.name, i.exchange, i.segment,
        i.instrument_type.value, i.lot_size, i.tick_size_paise, i.freeze_quantity,
        i.exchange_token, i.isin, i.expiry, i.strike_paise, i.underlying_key,
        i.underlying_symbol, i.weekly,
    )  # fmt: skip


def instrument_from_row(row: Sequence[Any]) -> Instrument:
    expiry = row[11]
    if isinstance(expiry, str):
        expiry = date.fromisoformat(expiry)
    return Instrument(
        instrument_key=row[0], trading_symbol=row[1], name=row[2], exchange=row[3],
        segment=row[4], instrument_type=InstrumentType(row[5]), lot_size=int(row[6]),
        tick_size_paise=int(row[7]), freeze_quantity=int(row[8]), exchange_token=row[9],
        isin=row[10], expiry=expiry, strike_paise=None if row[12] is None else int(row[12]),
        underlying_key=row[13], underlying_symbol=row[14], weekly=bool(row[15]),
    )  # fmt: skip


def order_row(o: OrderEvent) -> tuple[Any, ...]:
    return (
        o.client_order_id, o.instrument_key, int(o.side), int(o.order_type), o.quantity,
        int(o.status), o.ts_event, o.ts_init, o.broker_order_id, o.product, o.validity,
        o.price, o.trigger_price, o.filled_quantity, o.filled_value, o.message, o.strategy,
        o.mode, o.reason, o.algo_name,
    )  # fmt: skip


def order_from_row(row: Sequence[Any]) -> OrderEvent:
    return OrderEvent(
        client_order_id=row[0], instrument_key=row[1], side=Side(row[2]),
        order_type=OrderType(row[3]), quantity=int(row[4]), status=OrderStatus(row[5]),
        ts_event=int(row[6]), ts_init=int(row[7]), broker_order_id=row[8], product=row[9],
        validity=row[10], price=int(row[11]), trigger_price=int(row[12]),
        filled_quantity=int(row[13]), filled_value=int(row[14]), message=row[15],
        strategy=row[16], mode=row[17], reason=row[18], algo_name=row[19],
    )  # fmt: skip


def user_from_row(row: Sequence[Any]) -> UserRecord:
    return UserRecord(str(row[0]), str(row[1]), str(row[2]), bool(row[3]))


def api_key_from_row(row: Sequence[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(str(row[0]), str(row[1]), str(row[2]))
