"""The simulated market: vectorised price processes, trades, OHLC and depth for every row.

``Market.step()`` advances all instruments to the simulated clock's now in one numpy pass:
NSE equities follow geometric random walks with per-name drift/vol, trend regimes and
jumps, and U-shaped intraday activity; BSE equities mirror NSE; indices are weighted
baskets of their constituents; futures trade at carry; options at Black-76 prices off the
smile (:mod:`quant.sim.pricing`: the platform's Black-76, T to 15:30 IST on the expiry
date). Session phases and timings come from the exchange calendar
(:mod:`quant.sim.calendar`). Pre-open (09:00-09:08) publishes an indicative price that
becomes the open at 09:15. The feed, REST and matching layers read the arrays; nothing
here does I/O.
"""

from __future__ import annotations

from collections import deque
from datetime import date
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, NS_PER_MS, NS_PER_SECOND, Clock, ns_to_datetime
from quant.sim import calendar, circuit, history, pricing
from quant.sim.calendar import Phase
from quant.sim.depth import Book, build_book
from quant.sim.master import Kind, Universe
from quant.sim.pricing import GreeksArray, smile_vol

TRADING_SECONDS_PER_YEAR = 252.0 * calendar.SESSION_SECONDS
TAPE_LEN = 50_000
BREAKOUT_WINDOW_MIN = (20, 240)  # a setup breaks out this many minutes after the open
BREAKOUT_MINUTES = (30, 90)  # and climbs for this long


class SimTrade(NamedTuple):
    """One trade print of the simulated tape (price paise, qty units)."""

    ts_ns: int
    price: int
    qty: int
    side: int


class MinuteBars(NamedTuple):
    """Completed 1-minute bars for the bar rows (paise; volume in units)."""

    start_ns: int
    open: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]
    low: npt.NDArray[np.int64]
    close: npt.NDArray[np.int64]
    volume: npt.NDArray[np.int64]


def u_shape(frac: float) -> float:
    """Intraday activity multiplier: high at the open and close, ~0.6 at midday."""
    return 0.55 + 2.2 * (frac - 0.5) ** 2 * 2.0


class Market:
    """All mutable market state; call :meth:`step` to move it to the clock's now."""

    def __init__(self, universe: Universe, clock: Clock, seed: int, cal: ExchangeCalendar) -> None:
        self.u = universe
        self.clock = clock
        self.seed = seed
        self.calendar = cal
        self.rng = np.random.default_rng(seed)
        n = len(universe)
        k = universe.kind
        arange = np.arange(n, dtype=np.int64)
        self.is_proc = ((k == Kind.EQ) & (universe.underlying == arange)) | (
            (k == Kind.INDEX) & ~np.isin(arange, list(universe.index_members))
        )
        self.is_mirror = (k == Kind.EQ) & (universe.underlying != arange)
        self.is_fut = k == Kind.FUT
        self.is_opt = (k == Kind.CE) | (k == Kind.PE)
        self.is_call = k == Kind.CE
        self.is_index = k == Kind.INDEX
        self.bar_rows = np.nonzero(~self.is_opt)[0]
        self.proc_rows = np.nonzero(self.is_proc)[0]
        self.fut_rows = np.nonzero(self.is_fut)[0]
        self.opt_rows = np.nonzero(self.is_opt)[0]
        self.index_rows = np.nonzero(self.is_index)[0]
        # each derivative row's expiry date (index into expiry_dates); T comes per date
        deriv = self.is_fut | self.is_opt
        exp_days = [ns_to_datetime(int(x), IST).date() for x in universe.expiry_ns[deriv]]
        self.expiry_dates: tuple[date, ...] = tuple(sorted(set(exp_days)))
        pos = {d: i for i, d in enumerate(self.expiry_dates)}
        self.expiry_pos = np.zeros(n, dtype=np.int64)
        self.expiry_pos[deriv] = np.asarray([pos[d] for d in exp_days], dtype=np.int64)
        self._t_at = -1
        self._t_by_expiry = np.zeros(len(self.expiry_dates))
        self.bar_pos = np.full(n, -1, dtype=np.int64)
        self.bar_pos[self.bar_rows] = np.arange(len(self.bar_rows))
        self.tick = np.where(self.is_index, 1, universe.tick)
        self.idx_base = {i: float(universe.ref_price[i]) for i in universe.index_members}
        now = clock.now_ns()
        self.trade_date = ns_to_datetime(now, IST).date()
        self.step_no = 0
        self.last_ns = now
        self.priced_ns = now
        self.trend = np.zeros(n)
        # a market factor shared by the NSE equities (by each name's correlation, from
        # the history model's betas) and a separate stream for it, so the other draws
        # stay what they were
        self._factor_rng = np.random.default_rng([seed, 0xFAC7])
        self.rho = np.zeros(n)
        eq_proc = np.nonzero(self.is_proc & (k == Kind.EQ))[0]
        self.rho[eq_proc] = history.correlation(history.betas(seed, eq_proc), universe.vol[eq_proc])
        self.rho[self.is_proc & self.is_index & (universe.vol > 0.5)] = -0.6  # India VIX
        self.activity = np.ones(n)
        self.fair = universe.ref_price * np.exp(self.rng.normal(0.0, 0.01, n))
        self.fair[self.is_index] = universe.ref_price[self.is_index]
        self._derive()
        self.close_prev = self._round(self.fair)
        self.band = circuit.band_fractions(universe)
        self.circuit_lo, self.circuit_hi = circuit.limits(
            universe, self.band, self.close_prev, self.tick
        )
        self.ltp = self.close_prev.copy()
        self.ltq = np.zeros(n, dtype=np.int64)
        self.ltt_ms = np.full(n, now // NS_PER_MS - 86_400_000, dtype=np.int64)
        self.side = np.zeros(n, dtype=np.int8)
        self.consumed = np.zeros(n, dtype=np.int64)
        self.open = np.zeros(n, dtype=np.int64)
        self.high = np.zeros(n, dtype=np.int64)
        self.low = np.zeros(n, dtype=np.int64)
        self.vtt = np.zeros(n, dtype=np.int64)
        self.turnover = np.zeros(n)
        self.oi = np.where(self.is_fut | self.is_opt, universe.adv * 3, 0.0).round()
        self.iep = np.zeros(n, dtype=np.int64)
        self.updated = np.zeros(n, dtype=np.int64)
        self.phase = calendar.phase_at(now, cal)
        self._plan_breakouts()
        self.minute_bars: deque[MinuteBars] = deque(maxlen=400)
        self._bar_start = -1
        self._bar = np.zeros((5, len(self.bar_rows)), dtype=np.int64)
        self._tape: dict[int, deque[SimTrade]] = {}
        if self.phase != Phase.CLOSING_END:  # started inside today's session
            self._pre_open()
        if self.phase in (Phase.NORMAL_OPEN, Phase.CLOSING_START):
            self._open_session(now)

    # ---- public reads -------------------------------------------------------------
    def now_ns(self) -> int:
        return self.clock.now_ns()

    def t_years(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """T of derivative rows as priced: ACT/365 years from :attr:`priced_ns` (the last
        re-pricing) to 15:30 IST on the expiry date, 0 once past."""
        if self._t_at != self.priced_ns:
            self._t_by_expiry = pricing.times_to_expiry(self.priced_ns, self.expiry_dates)
            self._t_at = self.priced_ns
        out: npt.NDArray[np.float64] = self._t_by_expiry[self.expiry_pos[rows]]
        return out

    def forward(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Forward of each derivative row's underlying to its expiry (rupees)."""
        return pricing.forward(self.fair[self.u.underlying[rows]], self.t_years(rows))

    def smile(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """The smile vol the model prices these option rows at."""
        atm = self.u.vol[self.u.underlying[rows]]
        return smile_vol(atm, self.u.strike[rows], self.forward(rows), self.t_years(rows))

    def greeks(self, rows: npt.NDArray[np.int64]) -> tuple[GreeksArray, npt.NDArray[np.float64]]:
        """Black-76 greeks (0 once expired) and smile IV of option rows at the current state."""
        vol = self.smile(rows)
        g = pricing.option_greeks(
            self.forward(rows), self.u.strike[rows], vol, self.t_years(rows), self.is_call[rows]
        )
        return g, vol

    def open_ns(self) -> int:
        """UTC ns of the trading day's continuous-session open (09:15 IST on a normal day)."""
        times = calendar.session_times(self.trade_date, self.calendar)
        return calendar.at_ist(self.trade_date, times.open)

    def book(self, rows: npt.NDArray[np.int64], levels: int = 5) -> Book:
        """Current depth ladder of ``rows``; no level lies outside the circuit limits
        (such levels are empty: price and quantity 0, like bids below the lowest price)."""
        depth_scale = self.u.adv[rows] / 2e5 / np.maximum(self.u.lot[rows], 1)
        book = build_book(
            self.seed,
            self.step_no,
            rows,
            self.fair[rows] * 100.0,
            self.tick[rows],
            self.u.lot[rows],
            depth_scale,
            self.consumed[rows],
            self.side[rows],
            levels,
        )
        lo = self.circuit_lo[rows][:, None]
        hi = self.circuit_hi[rows][:, None]
        banded = hi > 0
        for price, qty, orders in (
            (book.bid_price, book.bid_qty, book.bid_orders),
            (book.ask_price, book.ask_qty, book.ask_orders),
        ):
            out = banded & (price > 0) & ((price < lo) | (price > hi))
            price[out], qty[out], orders[out] = 0, 0, 0
        return book

    def track(self, key: str) -> None:
        """Start recording every trade print of ``key`` (see :meth:`trades`)."""
        self._tape.setdefault(self.u.index_of[key], deque(maxlen=TAPE_LEN))

    def trades(self, key: str) -> list[SimTrade]:
        """Trade prints recorded since :meth:`track` was called for ``key``."""
        return list(self._tape.get(self.u.index_of[key], ()))

    def atp(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Average traded price (session VWAP) in paise; the LTP where nothing traded."""
        vol = self.vtt[rows]
        out: npt.NDArray[np.float64] = np.where(
            vol > 0, self.turnover[rows] / np.maximum(vol, 1), self.ltp[rows]
        )
        return out

    # ---- evolution ----------------------------------------------------------------
    def step(self) -> npt.NDArray[np.int64]:
        """Advance to the clock's now; returns the rows whose LTP/volume changed."""
        now = self.clock.now_ns()
        day = ns_to_datetime(now, IST).date()
        if day != self.trade_date:
            self._roll_day(day)
        phase = calendar.phase_at(now, self.calendar)
        if phase != self.phase:
            if phase in (Phase.PRE_OPEN_START, Phase.PRE_OPEN_END) and not self.iep.any():
                self._pre_open()
            if phase == Phase.NORMAL_OPEN:
                if not self.iep.any():
                    self._pre_open()
                self._open_session(now)
            self.phase = phase
        # only session time moves prices: a jump across the night counts from today's 09:15
        # (09:00 for the pre-open's indicative price)
        times = calendar.session_times(day, self.calendar)
        session_start = calendar.at_ist(day, times.open)
        dt = max(now - max(self.last_ns, session_start), 0) / NS_PER_SECOND
        if phase == Phase.PRE_OPEN_START:
            pre_start = calendar.at_ist(day, times.pre_open_start)
            dt = max(now - max(self.last_ns, pre_start), 0) / NS_PER_SECOND
        self.last_ns = now
        self.step_no += 1
        self.consumed[:] = 0
        if phase == Phase.PRE_OPEN_START and dt > 0:
            return self._discover(dt)
        if phase != Phase.NORMAL_OPEN or dt <= 0:
            return np.zeros(0, dtype=np.int64)
        frac = calendar.session_fraction(now, self.calendar)
        self._move(dt, frac)
        self._derive()
        return self._trade(dt, frac, now)

    def _move(self, dt: float, frac: float) -> None:
        proc = self.proc_rows
        m = len(proc)
        dt_y = dt / TRADING_SECONDS_PER_YEAR
        vol = self.u.vol[proc] * np.sqrt(u_shape(frac))
        switch = self.rng.random(m) < dt / 1800.0
        new_trend = np.where(self.rng.random(m) < 0.15, self.rng.normal(0, 0.012, m), 0.0)
        self.trend[proc] = np.where(switch, new_trend, self.trend[proc])
        jumps = (self.rng.random(m) < dt / 20_000.0) * self.rng.normal(0, 0.015, m)
        rho = self.rho[proc]
        shock = rho * self._factor_rng.standard_normal() + np.sqrt(
            1.0 - rho * rho
        ) * self.rng.standard_normal(m)
        ret = (
            -0.5 * vol * vol * dt_y
            + vol * np.sqrt(dt_y) * shock
            + self.trend[proc] * dt / 3600.0
            + jumps
        )
        vix = self.is_index[proc] & (self.u.vol[proc] > 0.5)
        ret = np.where(vix, ret + 0.02 * dt / 3600.0 * np.log(13.0 / self.fair[proc]), ret)
        ret[self.bo_pos] += self._breakout_returns(dt)
        self.fair[proc] *= np.exp(ret)
        self._hold_in_band(proc)

    def _plan_breakouts(self) -> None:
        """Today's breakouts: the NSE equities whose synthetic history ends in a base
        (:func:`quant.sim.history.setup_rows`) climb a few daily sds for 30-90 minutes
        from a time between 09:35 and 13:15, on rising then heavy volume."""
        rows = history.setup_rows(self.seed, self.u, self.trade_date)
        rng = np.random.default_rng([self.seed, self.trade_date.toordinal(), 0xB4EA])
        minute = 60 * NS_PER_SECOND
        start = self.open_ns() + rng.integers(*BREAKOUT_WINDOW_MIN, len(rows)) * minute
        length = rng.integers(*BREAKOUT_MINUTES, len(rows))
        sigma = self.u.vol[rows] / np.sqrt(252.0)
        self.bo_rows = rows
        self.bo_pos = np.searchsorted(self.proc_rows, rows)
        self.bo_start = start
        self.bo_end = start + length * minute
        self.bo_rate = rng.uniform(2.5, 4.5, len(rows)) * sigma / (length * 60.0)  # per s
        self.activity[:] = 1.0

    def _breakout_returns(self, dt: float) -> npt.NDArray[np.float64]:
        """Log return of each planned breakout over the step ending now; sets the
        names' trading activity (x2 in the half hour before, x4 during, x2 after)."""
        now = self.last_ns
        prev = now - int(dt * NS_PER_SECOND)
        lo = np.maximum(prev, self.bo_start)
        hi = np.minimum(now, self.bo_end)
        overlap = np.maximum(hi - lo, 0) / NS_PER_SECOND
        before = (now >= self.bo_start - 30 * 60 * NS_PER_SECOND) & (now < self.bo_start)
        during = (now >= self.bo_start) & (now < self.bo_end)
        act = np.where(before, 2.0, np.where(during, 4.0, np.where(now >= self.bo_end, 2.0, 1.0)))
        self.activity[self.bo_rows] = act
        out: npt.NDArray[np.float64] = self.bo_rate * overlap
        return out

    def _derive(self) -> None:
        u = self.u
        self.priced_ns = self.last_ns
        self.fair[self.is_mirror] = self.fair[u.underlying[self.is_mirror]]
        for row, (members, weights) in u.index_members.items():
            rel = self.fair[members] / u.ref_price[members]
            self.fair[row] = self.idx_base[row] * float(rel @ weights)
        fut = self.fut_rows
        self.fair[fut] = self.forward(fut)
        opt = self.opt_rows
        t = self.t_years(opt)
        fwd = pricing.forward(self.fair[u.underlying[opt]], t)
        strike = u.strike[opt]
        vol = smile_vol(u.vol[u.underlying[opt]], strike, fwd, t)  # == self.smile(opt)
        price = pricing.option_price(fwd, strike, vol, t, self.is_call[opt])
        self.fair[opt] = np.maximum(price, 0.05)

    def _hold_in_band(self, rows: npt.NDArray[np.int64]) -> None:
        """Keep the fair value of ``rows`` inside their circuit limits (where they have one)."""
        lo, hi = self.circuit_lo[rows], self.circuit_hi[rows]
        banded = hi > 0
        fair = self.fair[rows]
        self.fair[rows] = np.where(banded, np.clip(fair, lo / 100.0, hi / 100.0), fair)

    def in_band(self, paise: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """``paise`` (one price per row) clipped to each row's circuit limits."""
        banded = self.circuit_hi > 0
        clipped = np.clip(paise, self.circuit_lo, self.circuit_hi)
        out: npt.NDArray[np.int64] = np.where(banded, clipped, paise)
        return out

    def _round(self, rupees: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        paise = rupees * 100.0
        out: npt.NDArray[np.int64] = (np.round(paise / self.tick) * self.tick).astype(np.int64)
        return np.maximum(out, self.tick)

    def _trade(self, dt: float, frac: float, now: int) -> npt.NDArray[np.int64]:
        u = self.u
        # names in a trend regime trade more (relative volume for the momentum scanner)
        hot = (1.0 + 60.0 * np.abs(self.trend[u.underlying])) * self.activity[u.underlying]
        lam = u.adv * hot * u_shape(frac) * dt / calendar.SESSION_SECONDS / np.maximum(u.lot, 1)
        prints = self.rng.random(len(u)) < 1.0 - np.exp(-np.minimum(lam, 50.0) / 4.0)
        per_print = np.maximum(np.ceil(lam / 4.0), 1.0).astype(np.int64)
        lots = np.where(prints, self.rng.geometric(0.25, len(u)) * per_print, 0)
        qty = lots * u.lot
        paise = self.fair * 100.0
        up = paise >= self.ltp
        side = np.where(
            self.rng.random(len(u)) < 0.5,
            np.where(up, 1, -1),
            np.where(self.rng.random(len(u)) < 0.5, 1, -1),
        ).astype(np.int8)
        bid = np.maximum(np.floor(paise / self.tick) * self.tick, self.tick).astype(np.int64)
        price = self.in_band(np.where(side > 0, bid + self.tick, bid))
        traded = (qty > 0) & ~self.is_index
        rows = np.nonzero(traded | self.is_index)[0]
        self.ltp[self.is_index] = np.round(paise[self.is_index]).astype(np.int64)
        t = np.nonzero(traded)[0]
        self.ltp[t] = price[t]
        self.ltq[t] = qty[t]
        self.side[t] = side[t]
        self.consumed[t] = qty[t]
        self.vtt[t] += qty[t]
        self.turnover[t] += qty[t] * price[t].astype(np.float64)
        oi_rows = t[self.is_fut[t] | self.is_opt[t]]
        self.oi[oi_rows] = np.maximum(
            self.oi[oi_rows] + qty[oi_rows] * self.rng.choice([-1, 1], len(oi_rows)), 0
        )
        self.ltt_ms[rows] = now // NS_PER_MS
        first = rows[self.open[rows] == 0]
        self.open[first] = self.ltp[first]
        self.high[rows] = np.maximum(
            np.where(self.high[rows] == 0, self.ltp[rows], self.high[rows]), self.ltp[rows]
        )
        self.low[rows] = np.minimum(
            np.where(self.low[rows] == 0, self.ltp[rows], self.low[rows]), self.ltp[rows]
        )
        self.updated[rows] = self.step_no
        for row, tape in self._tape.items():
            if traded[row]:
                tape.append(SimTrade(now, int(self.ltp[row]), int(qty[row]), int(side[row])))
        self._update_bars(now)
        return rows

    def _update_bars(self, now: int) -> None:
        minute = now - now % (60 * NS_PER_SECOND)
        b = self.bar_rows
        ltp = self.ltp[b]
        vtt = self.vtt[b]
        if minute != self._bar_start:
            if self._bar_start >= 0:
                o, h, lo, c, v0 = self._bar
                self.minute_bars.append(
                    MinuteBars(self._bar_start, o.copy(), h.copy(), lo.copy(), c.copy(), vtt - v0)
                )
            self._bar_start = minute
            self._bar = np.stack([ltp, ltp, ltp, ltp, vtt])
        self._bar[1] = np.maximum(self._bar[1], ltp)
        self._bar[2] = np.minimum(self._bar[2], ltp)
        self._bar[3] = ltp

    def current_bar(self) -> MinuteBars | None:
        """The forming 1-minute bar of the bar rows, if any."""
        if self._bar_start < 0:
            return None
        o, h, lo, c, v0 = self._bar
        return MinuteBars(self._bar_start, o, h, lo, c, self.vtt[self.bar_rows] - v0)

    def window_ohlc(
        self, rows: npt.NDArray[np.int64], minutes: int, previous: bool = False
    ) -> tuple[int, npt.NDArray[np.int64]] | None:
        """OHLCV (5 x len(rows), paise/units) of the current (or previous) ``minutes`` window.

        ``rows`` must be bar rows (not options). Returns (window start ns, array) or None
        when no bar of that window exists yet.
        """
        cur = self.current_bar()
        if cur is None:
            return None
        width = minutes * 60 * NS_PER_SECOND
        open_ns = self.open_ns()
        start = open_ns + (cur.start_ns - open_ns) // width * width
        if previous:
            start -= width
        bars = [b for b in (*self.minute_bars, cur) if start <= b.start_ns < start + width]
        if not bars:
            return None
        pos = self.bar_pos[rows]
        o = bars[0].open[pos]
        h = np.max(np.stack([b.high[pos] for b in bars]), axis=0)
        lo = np.min(np.stack([b.low[pos] for b in bars]), axis=0)
        c = bars[-1].close[pos]
        v = np.sum(np.stack([b.volume[pos] for b in bars]), axis=0)
        return start, np.stack([o, h, lo, c, v])

    # ---- session events -----------------------------------------------------------
    def _pre_open(self) -> None:
        gap = self.rng.normal(0.0, 0.006, len(self.u))
        proc = self.is_proc
        self.fair[proc] = (self.close_prev[proc] / 100.0) * np.exp(gap[proc])
        self._hold_in_band(self.proc_rows)
        self._derive()
        self.iep = np.where(self.is_opt | self.is_fut, 0, self.in_band(self._round(self.fair)))

    def _discover(self, dt: float) -> npt.NDArray[np.int64]:
        """Pre-open order collection: the indicative price wanders a little."""
        proc = self.proc_rows
        noise = self.rng.normal(0.0, 0.0004 * np.sqrt(dt), len(proc))
        self.fair[proc] *= np.exp(noise)
        self._hold_in_band(proc)
        self._derive()
        rows = np.nonzero(self.iep > 0)[0]
        self.iep[rows] = self.in_band(self._round(self.fair))[rows]
        self.updated[rows] = self.step_no
        return rows

    def _open_session(self, now: int) -> None:
        rows = np.nonzero(self.open == 0)[0]
        price = self.in_band(self._round(self.fair))
        self.open[rows] = price[rows]
        self.high[rows] = price[rows]
        self.low[rows] = price[rows]
        self.ltp[rows] = price[rows]
        self.ltt_ms[rows] = now // NS_PER_MS
        self.updated[rows] = self.step_no

    def _roll_day(self, day: date) -> None:
        traded = self.open > 0
        self.close_prev = np.where(traded, self.ltp, self.close_prev)
        self.circuit_lo, self.circuit_hi = circuit.limits(
            self.u, self.band, self.close_prev, self.tick
        )
        for arr in (self.open, self.high, self.low, self.vtt, self.iep, self.ltq):
            arr[:] = 0
        self.turnover[:] = 0.0
        self.minute_bars.clear()
        self._bar_start = -1
        self.trade_date = day
        self._plan_breakouts()
