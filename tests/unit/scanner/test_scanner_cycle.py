"""One scanner cycle over a hand-built market: the liquid universe, the breakout ranked
first with readable reasons and every signal's value, the opening range, quotes batched."""

from __future__ import annotations

import asyncio
import math

from scanner_kit import (
    BASE,
    DAY,
    INDEX,
    KEYS,
    NAMES,
    VOLUME_DAYS,
    FakeQuotes,
    at,
    flat_market,
    instruments,
    quote,
    seeded_store,
)

from quant.analytics.scanner_signals import SIGNAL_NAMES
from quant.core.calendar import NSE_CALENDAR
from quant.core.events import Candle, FeedMode
from quant.scanner.adapters import StoreCandles
from quant.scanner.cycle import ScanCycle
from quant.scanner.settings import ScannerSettings
from quant.scanner.universe import candidates
from quant.store.columns import candle_batch

SETTINGS = ScannerSettings(top_n=3, volume_days=VOLUME_DAYS, min_turnover=1_000_000)


def _cycle(settings: ScannerSettings = SETTINGS) -> tuple[ScanCycle, FakeQuotes, object]:
    store = seeded_store()
    quotes = FakeQuotes()
    cycle = ScanCycle(
        settings,
        candidates=candidates(instruments(), settings.universe),
        quotes=quotes,
        candles=StoreCandles(store),
        calendar=NSE_CALENDAR,
    )
    return cycle, quotes, store


def test_nse_eq_is_every_equity_of_the_master_and_the_thin_name_is_not_scanned() -> None:
    cycle, _, _ = _cycle()
    state = asyncio.run(cycle.prepare(DAY))
    assert set(state.keys) == {KEYS[n] for n in NAMES if n != "THIN"}
    assert state.daily.close.shape == (len(NAMES) - 1, 20)
    assert state.profile.at(10).shape == (len(NAMES) - 1, VOLUME_DAYS)
    assert state.profile.at(10)[0].tolist() == [1000.0] * VOLUME_DAYS  # 10 minutes x 100


def test_an_explicit_name_is_scanned_whatever_its_liquidity() -> None:
    settings = SETTINGS.model_copy(update={"universe": ("THIN", "AAA", "NOPE")})
    cands = candidates(instruments(), settings.universe)
    assert cands.unresolved == ["NOPE"]
    cycle, _, _ = _cycle(settings)
    state = asyncio.run(cycle.prepare(DAY))
    assert state.keys == [KEYS["THIN"], KEYS["AAA"]]  # in the order listed


def test_the_breakout_on_volume_ranks_first_with_its_reasons_and_signals() -> None:
    cycle, quotes, _ = _cycle()
    flat_market(quotes, breakout=3.0, index_up=0.5)
    asyncio.run(cycle.prepare(DAY))
    now = at(10, 25)
    result = asyncio.run(cycle.run(now))
    assert result.universe == len(NAMES) - 1 and result.quoted == len(NAMES) - 1
    top = result.picks[0]
    assert top.instrument_key == KEYS["BRK"] and top.trading_symbol == "BRK"
    assert [p.rank for p in result.picks] == [1, 2, 3]
    assert all(p.ts_event == now for p in result.picks)
    assert top.last_price == round(BASE["BRK"] * 1.03 * 100)
    assert top.feed_mode is FeedMode.FULL
    assert [name for name, _ in top.signals] == list(SIGNAL_NAMES)
    values = dict(top.signals)
    assert math.isclose(values["rel_strength"], 2.5, abs_tol=0.01)  # +3 % vs the index +0.5 %
    assert math.isclose(values["high_dist"], 100 * (1.03 / 1.01 - 1), abs_tol=0.01)
    # 50,000 shares by 10:25 against 70 minutes x 100 = 7,000 on the previous sessions
    assert math.isclose(values["rel_volume"], 50_000 / 7_000, rel_tol=1e-6)
    assert math.isnan(values["orb"])  # no quote at the end of the range, no stored bars
    assert any("vs NIFTY" in r for r in top.reasons), top.reasons
    assert any("relative volume" in r and "10:25" in r for r in top.reasons), top.reasons
    assert result.picks[0].score > result.picks[1].score
    # one request of every scanned name and the index
    assert quotes.requests == [len(NAMES)]


def test_the_opening_range_comes_from_the_quote_at_its_end_or_the_stored_bars() -> None:
    cycle, quotes, store = _cycle()
    flat_market(quotes)
    asyncio.run(cycle.prepare(DAY))
    # AAA's first 15 one-minute bars are stored as they close: they win over its quote
    open_ns = at(9, 15)
    bars = [
        Candle(KEYS["AAA"], 60, open_ns + k * 60_000_000_000, 10_000, 10_100 + k, 9_950, 10_000, 5)
        for k in range(15)
    ]
    store.write(candle_batch(bars[:5]))  # type: ignore[attr-defined]
    asyncio.run(cycle.run(at(9, 20)))
    store.write(candle_batch(bars[5:]))  # type: ignore[attr-defined]
    # at 09:30 the day's high/low is the opening range
    quotes.set([quote("BRK", 181.0)._replace(high=18_200, low=17_900)])
    asyncio.run(cycle.run(at(9, 30)))
    quotes.set([quote("BRK", 183.0), quote("AAA", 102.0)])
    result = asyncio.run(cycle.run(at(9, 35)))
    state = cycle.state
    assert state is not None
    high, low = state.intraday.opening_range(at(9, 35))
    i_brk, i_aaa = state.index[KEYS["BRK"]], state.index[KEYS["AAA"]]
    assert (high[i_brk], low[i_brk]) == (182.0, 179.0)
    assert (high[i_aaa], low[i_aaa]) == (101.14, 99.5)
    brk = next(p for p in result.picks if p.instrument_key == KEYS["BRK"])
    assert math.isclose(dict(brk.signals)["orb"], 100 * (183 / 182 - 1), rel_tol=1e-9)


def test_rate_of_change_uses_the_price_of_the_cycle_fifteen_minutes_earlier() -> None:
    cycle, quotes, _ = _cycle()
    flat_market(quotes)
    asyncio.run(cycle.prepare(DAY))
    for hh, mm in ((9, 20), (9, 25), (9, 30)):
        asyncio.run(cycle.run(at(hh, mm)))
    quotes.set([quote("BRK", 180.0 * 1.02)])
    result = asyncio.run(cycle.run(at(9, 35)))
    state = cycle.state
    assert state is not None
    closes = state.intraday.minute_close(at(9, 35))
    assert closes.shape[1] == 20
    brk = next(p for p in result.picks if p.instrument_key == KEYS["BRK"])
    assert math.isclose(dict(brk.signals)["roc"], 2.0, rel_tol=1e-9)


def test_names_without_a_quote_are_not_picked_and_the_index_may_be_missing() -> None:
    cycle, quotes, _ = _cycle()
    quotes.set([quote("AAA", 101.0), quote("BBB", 111.0)])
    asyncio.run(cycle.prepare(DAY))
    result = asyncio.run(cycle.run(at(10, 0)))
    assert result.quoted == 2
    assert {p.instrument_key for p in result.picks} <= {KEYS["AAA"], KEYS["BBB"]}
    assert INDEX not in {p.instrument_key for p in result.picks}
