"""Relational-store port contract, on the embedded SQLite store and PostgreSQL (``integration``).

The PostgreSQL variant gets a brand-new database per test (``fresh_postgres_dsn``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, Protocol

import pytest

from conftest import require
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.store.ports import (
    ApiKeyRecord,
    RelationalStore,
    ReplaceResult,
    StoreError,
    UpsertResult,
    UserRecord,
)
from quant.store.sqlite_relational import SqliteRelationalStore


class RawStore(RelationalStore, Protocol):
    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int: ...


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[RawStore]:
    if request.param == "sqlite":
        s = SqliteRelationalStore(":memory:").open()
        yield s
        s.close()
        return
    try:
        dsn = request.getfixturevalue("fresh_postgres_dsn")
    except pytest.FixtureLookupError:
        require(False, "the fresh_postgres_dsn fixture is not available")
    from quant.store.postgres import PostgresStore

    p = PostgresStore(dsn).open()
    yield p
    p.close()


def _eq(symbol: str, isin: str, segment: str = "NSE_EQ", name: str = "") -> Instrument:
    return Instrument(
        instrument_key=f"{segment}|{isin}",
        trading_symbol=symbol,
        name=name or f"{symbol} LIMITED",
        exchange=segment.split("_")[0],
        segment=segment,
        instrument_type=InstrumentType.EQUITY,
        lot_size=1,
        tick_size_paise=5,
        isin=isin,
        exchange_token=isin[-5:],
    )


def _option(token: str, symbol: str, expiry: date) -> Instrument:
    return Instrument(
        instrument_key=f"NSE_FO|{token}",
        trading_symbol=symbol,
        name="NIFTY",
        exchange="NSE",
        segment="NSE_FO",
        instrument_type=InstrumentType.CALL,
        lot_size=75,
        tick_size_paise=5,
        freeze_quantity=1800,
        exchange_token=token,
        expiry=expiry,
        strike_paise=2_450_000,
        underlying_key="NSE_INDEX|Nifty 50",
        underlying_symbol="NIFTY",
        weekly=True,
    )


RELIANCE = _eq("RELIANCE", "INE002A01018")
RELIANCE_BSE = _eq("RELIANCE", "INE002A01018", segment="BSE_EQ")
TCS = _eq("TCS", "INE467B01029", name="TATA CONSULTANCY SERVICES LTD")
RELINFRA = _eq("RELINFRA", "INE036A01016", name="RELIANCE INFRASTRUCTURE LTD")
PCT = _eq("A%_B", "INE000X01000", name="WILD CARD")
OPT = _option("45450", "NIFTY 24500 CE 27 NOV 25", date(2025, 11, 27))
ALL = [RELIANCE, RELIANCE_BSE, TCS, RELINFRA, PCT, OPT]


def test_upsert_counts_inserted_updated_and_unchanged(store: RawStore) -> None:
    assert store.upsert_instruments(ALL) == UpsertResult(6, 0, 0)
    assert store.upsert_instruments(ALL) == UpsertResult(0, 0, 6)
    new_tcs = dataclasses.replace(TCS, lot_size=2)
    extra = _eq("INFY", "INE009A01021")
    assert store.upsert_instruments([new_tcs, extra, RELIANCE]) == UpsertResult(1, 1, 1)
    assert store.get_instrument(TCS.instrument_key) == new_tcs
    assert store.get_instrument(OPT.instrument_key) == OPT
    assert store.get_instrument("NSE_EQ|NOPE") is None


def test_duplicate_keys_in_one_batch_count_once_and_last_wins(store: RawStore) -> None:
    renamed = dataclasses.replace(TCS, name="X")
    assert store.upsert_instruments([TCS, renamed]) == UpsertResult(1, 0, 0)
    got = store.get_instrument(TCS.instrument_key)
    assert got is not None and got.name == "X"


def test_a_failed_upsert_leaves_the_previous_rows_intact(store: RawStore) -> None:
    store.upsert_instruments(ALL)
    bad = dataclasses.replace(TCS, name=None)  # type: ignore[arg-type]  # violates NOT NULL
    better_reliance = dataclasses.replace(RELIANCE, lot_size=9)
    with pytest.raises(StoreError):
        store.upsert_instruments([better_reliance, _eq("NEW", "INE111A01011"), bad])
    assert store.get_instrument(RELIANCE.instrument_key) == RELIANCE
    assert store.get_instrument("NSE_EQ|INE111A01011") is None
    assert store.get_instrument(TCS.instrument_key) == TCS


class _Guard:
    """Records what the store shows it; refuses at ``refuse_at`` ("write"/"commit")."""

    def __init__(self, refuse_at: str = "") -> None:
        self.refuse_at = refuse_at
        self.seen: dict[str, int] | None = None

    def before_write(self, live_counts: Mapping[str, int]) -> None:
        self.seen = dict(live_counts)
        if self.refuse_at == "write":
            raise _Refused("refused before writing")

    def before_commit(self) -> None:
        if self.refuse_at == "commit":
            raise _Refused("refused before the commit")

    def remaining_s(self) -> float | None:
        return 30.0


class _Refused(Exception):
    pass


def test_live_segment_counts_leave_out_expired_contracts(store: RawStore) -> None:
    assert store.live_segment_counts(date(2025, 11, 27)) == {}
    store.upsert_instruments(ALL)
    assert store.live_segment_counts(date(2025, 11, 27)) == {"NSE_EQ": 4, "BSE_EQ": 1, "NSE_FO": 1}
    assert store.live_segment_counts(date(2025, 11, 28)) == {"NSE_EQ": 4, "BSE_EQ": 1}
    store.mark_expired(date(2025, 11, 28))
    assert store.live_segment_counts(date(2025, 11, 1)) == {"NSE_EQ": 4, "BSE_EQ": 1}


def test_replace_shows_the_guard_yesterdays_counts_then_upserts_and_expires(
    store: RawStore,
) -> None:
    store.upsert_instruments(ALL)
    guard = _Guard()
    new_tcs = dataclasses.replace(TCS, lot_size=2)
    extra = _eq("INFY", "INE009A01021")
    result = store.replace_instruments(
        [new_tcs, extra, RELIANCE], today=date(2025, 11, 28), guard=guard
    )
    assert result == ReplaceResult(inserted=1, updated=1, unchanged=1, expired=1)
    assert guard.seen == {"NSE_EQ": 4, "BSE_EQ": 1}
    assert store.get_instrument(TCS.instrument_key) == new_tcs
    assert OPT not in store.list_instruments()


@pytest.mark.parametrize("refuse_at", ["write", "commit"])
def test_a_guard_refusal_rolls_back_the_whole_replacement(store: RawStore, refuse_at: str) -> None:
    store.upsert_instruments(ALL)
    before = store.list_instruments()
    changed = [dataclasses.replace(i, lot_size=99) for i in ALL] + [_eq("NEW", "INE111A01011")]
    with pytest.raises(_Refused):
        store.replace_instruments(changed, today=date(2025, 11, 28), guard=_Guard(refuse_at))
    assert store.list_instruments() == before  # no update, no insert, the option not expired
    assert store.get_instrument("NSE_EQ|INE111A01011") is None
    assert store.replace_instruments(changed, today=date(2025, 11, 28), guard=_Guard()) == (
        ReplaceResult(inserted=1, updated=6, unchanged=0, expired=1)
    )


def test_resolve_symbol_prefers_nse_and_honours_segment(store: RawStore) -> None:
    store.upsert_instruments(ALL)
    assert store.resolve_symbol("reliance") == RELIANCE
    assert store.resolve_symbol("RELIANCE", segment="BSE_EQ") == RELIANCE_BSE
    assert store.resolve_symbol("NOPE") is None


def test_search_ranks_exact_then_prefix_then_contains(store: RawStore) -> None:
    store.upsert_instruments(ALL)
    keys = [i.instrument_key for i in store.search_instruments("relian")]
    assert keys[:2] == [RELIANCE.instrument_key, RELIANCE_BSE.instrument_key]
    assert keys[2] == RELINFRA.instrument_key  # matched by name
    assert [i.trading_symbol for i in store.search_instruments("tata")] == ["TCS"]
    assert store.search_instruments("tcs")[0] == TCS
    assert [i.trading_symbol for i in store.search_instruments("%")] == ["A%_B"]
    assert store.search_instruments("  ") == []
    assert len(store.search_instruments("e", limit=2)) == 2


def test_search_finds_an_instrument_by_its_key_and_an_equity_by_its_isin(store: RawStore) -> None:
    store.upsert_instruments(ALL)
    assert store.search_instruments(TCS.instrument_key) == [TCS]
    assert store.search_instruments(TCS.instrument_key.lower()) == [TCS]
    isin = RELIANCE.instrument_key.split("|")[1]
    hits = store.search_instruments(isin)
    assert hits[:2] == [RELIANCE, RELIANCE_BSE]  # the same ISIN on both exchanges, NSE first
    assert store.search_instruments(isin[:-1]) == []  # a partial ISIN is not a key


def test_mark_expired_hides_expired_contracts_from_search_and_resolve(store: RawStore) -> None:
    store.upsert_instruments(ALL)
    assert store.mark_expired(date(2025, 11, 27)) == 0  # expires that day: still live
    assert store.mark_expired(date(2025, 11, 28)) == 1
    assert store.mark_expired(date(2025, 11, 28)) == 0
    assert store.search_instruments("NIFTY 24500") == []
    assert store.resolve_symbol(OPT.trading_symbol) is None
    assert store.get_instrument(OPT.instrument_key) == OPT


def test_list_instruments_is_the_live_master_in_key_order(store: RawStore) -> None:
    assert store.list_instruments() == []
    store.upsert_instruments(ALL)
    listed = store.list_instruments()
    assert listed == sorted(ALL, key=lambda i: i.instrument_key)
    store.mark_expired(date(2025, 11, 28))  # the option expired the day before
    assert OPT not in store.list_instruments()
    assert len(store.list_instruments()) == len(ALL) - 1


def test_instruments_version_changes_exactly_when_the_live_master_does(store: RawStore) -> None:
    empty = store.instruments_version()
    store.upsert_instruments(ALL)
    loaded = store.instruments_version()
    assert loaded != empty
    store.upsert_instruments(ALL)  # nothing changed
    assert store.instruments_version() == loaded
    time.sleep(1.1)  # SQLite's CURRENT_TIMESTAMP has one-second resolution
    store.upsert_instruments([dataclasses.replace(RELIANCE, lot_size=2)])
    updated = store.instruments_version()
    assert updated != loaded
    store.mark_expired(date(2025, 11, 28))
    assert store.instruments_version() != updated


def _order(coid: str, status: OrderStatus, ts: int, filled: int = 0) -> OrderEvent:
    return OrderEvent(
        client_order_id=coid,
        instrument_key=RELIANCE.instrument_key,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=10,
        status=status,
        ts_event=ts,
        ts_init=ts + 1,
        broker_order_id=f"B{coid}",
        price=245_050,
        filled_quantity=filled,
        filled_value=filled * 245_050,
        strategy="orb",
    )


def test_order_audit_appends_and_lists_newest_first(store: RawStore) -> None:
    events = [
        _order("c1", OrderStatus.PENDING_NEW, 1),
        _order("c1", OrderStatus.OPEN, 2),
        _order("c2", OrderStatus.PENDING_NEW, 3),
        _order("c1", OrderStatus.FILLED, 4, filled=10),
    ]
    for e in events:
        store.append_order_event(e)
    store.append_order_event(events[0])  # a duplicate event is still recorded: it is an audit
    assert store.list_order_events() == [events[0], *events[::-1]]
    assert store.list_order_events(limit=2) == [events[0], events[3]]
    assert store.list_order_events(client_order_id="c2") == [events[2]]
    assert store.list_order_events(client_order_id="nope") == []


def test_order_events_appended_together_are_one_transaction(store: RawStore) -> None:
    events = [_order("c1", OrderStatus.PENDING_NEW, 1), _order("c1-2", OrderStatus.PENDING_NEW, 1)]
    store.append_order_events(events)
    assert store.order_events_since(0) == events
    bad = _order("c3", OrderStatus.PENDING_NEW, 5)._replace(quantity=2**70)  # no column holds it
    with pytest.raises((StoreError, OverflowError)):
        store.append_order_events([_order("c2", OrderStatus.PENDING_NEW, 5), bad])
    assert store.order_events_since(0) == events  # the good one before it was rolled back too
    store.append_order_events([])


def test_executed_orders_refuse_updates_and_deletes(store: RawStore) -> None:
    store.append_order_event(_order("c1", OrderStatus.OPEN, 1))
    with pytest.raises(StoreError, match="append-only"):
        store.execute("UPDATE executed_orders SET quantity = 0")
    with pytest.raises(StoreError, match="append-only"):
        store.execute("DELETE FROM executed_orders")
    assert len(store.list_order_events()) == 1


def test_users_are_saved_and_updated(store: RawStore) -> None:
    assert store.get_user("asha") is None
    store.save_user(UserRecord("asha", "$argon2id$v=19$hash1", "trader"))
    store.save_user(UserRecord("ravi", "$argon2id$v=19$hash2", "viewer"))
    assert store.get_user("asha") == UserRecord("asha", "$argon2id$v=19$hash1", "trader")
    store.save_user(UserRecord("asha", "$argon2id$v=19$hash3", "admin"))
    assert store.get_user("asha") == UserRecord("asha", "$argon2id$v=19$hash3", "admin")


def test_users_carry_a_disabled_flag_and_are_listed_by_name(store: RawStore) -> None:
    store.save_user(UserRecord("ravi", "", "viewer"))
    store.save_user(UserRecord("asha", "$argon2id$v=19$h", "admin", disabled=True))
    assert store.list_users() == [
        UserRecord("asha", "$argon2id$v=19$h", "admin", True),
        UserRecord("ravi", "", "viewer", False),
    ]
    store.save_user(UserRecord("asha", "$argon2id$v=19$h", "admin", disabled=False))
    assert store.get_user("asha") == UserRecord("asha", "$argon2id$v=19$h", "admin", False)


def test_an_unknown_role_is_refused(store: RawStore) -> None:
    with pytest.raises(StoreError, match="role"):
        store.save_user(UserRecord("asha", "", "root"))
    store.save_user(UserRecord("asha", "", "viewer"))
    with pytest.raises(StoreError, match="role"):
        store.execute("UPDATE users SET role = 'root' WHERE username = 'asha'")
    assert store.get_user("asha") == UserRecord("asha", "", "viewer")


def test_create_user_writes_the_user_and_key_together_or_nothing(store: RawStore) -> None:
    key = ApiKeyRecord("0123456789ab", "asha", "$argon2id$v=19$k1")
    assert store.create_user(UserRecord("asha", "", "trader"), key) is True
    assert store.get_api_key("0123456789ab") == key
    taken = ApiKeyRecord("ba9876543210", "asha", "$argon2id$v=19$k2")
    assert store.create_user(UserRecord("asha", "", "admin"), taken) is False
    assert store.get_user("asha") == UserRecord("asha", "", "trader")
    assert store.get_api_key("ba9876543210") is None
    with pytest.raises(StoreError):  # a bad role rolls the whole creation back
        store.create_user(
            UserRecord("ravi", "", "root"), ApiKeyRecord("cccccccccccc", "ravi", "$argon2id$x")
        )
    assert store.get_user("ravi") is None and store.get_api_key("cccccccccccc") is None


def test_keys_belong_to_existing_users_and_ids_are_unique(store: RawStore) -> None:
    with pytest.raises(StoreError):
        store.save_api_key(ApiKeyRecord("0123456789ab", "nobody", "$argon2id$x"))
    store.save_user(UserRecord("asha", "", "viewer"))
    store.save_api_key(ApiKeyRecord("0123456789ab", "asha", "$argon2id$x"))
    with pytest.raises(StoreError):
        store.save_api_key(ApiKeyRecord("0123456789ab", "asha", "$argon2id$y"))
    assert store.get_api_key("0123456789ab") == ApiKeyRecord("0123456789ab", "asha", "$argon2id$x")
    assert store.get_api_key("missing00000") is None
