"""``quant scanner evaluate``: replay stored history and judge the scanner's picks.

For each session day in ``[start, end]`` and each cycle time (the scanner's: 09:20, 09:25,
... by default), :func:`run_evaluate` rebuilds the scanner's inputs from stored candles
only (:mod:`quant.scanner.history_inputs`: quotes replaced by the one-minute candles up to
the cycle), keeps the names a live day scans (:func:`quant.scanner.universe.scanned`: the
liquidity filter on the daily candles, plus names listed explicitly), ranks them with the
live cycle's own :func:`quant.scanner.rank.rank` and measures each pick's forward return
over 15, 30 and 60 minutes against the average of the scanned names at the same time. A
horizon that ends after the session's close is not counted. Returns are percent; the
entry price is the last complete one-minute bar's close before the cycle time.

Per horizon the report gives the picks' count, mean, median and hit rate (share > 0), the
same for the scanned universe (every scanned name at every cycle), the picks' mean excess
over their cycle's universe average and the share of picks that beat it.
:func:`format_report` prints it as a table; :func:`write_csv` / :func:`write_json` save
it. The command line is :mod:`quant.scanner.evaluate_cli`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from quant.analytics.scanner_signals import ScanInputs
from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns, ns_to_datetime
from quant.scanner.adapters import StoreCandles
from quant.scanner.history import DailyHistory
from quant.scanner.history_inputs import (
    DailyCandles,
    DailyWindow,
    MinuteBars,
    PriorSession,
    day_candles_from_minutes,
    load_minute_bars,
    scan_inputs,
    session_days,
    session_times,
)
from quant.scanner.rank import rank
from quant.scanner.settings import ScannerSettings
from quant.scanner.universe import scanned
from quant.store.ports import TickReader

F = npt.NDArray[np.float64]
NORMAL_OPEN = time(9, 15)


class NoStoredCandles(ValueError):
    """The range has no stored one-minute candles for the universe: backfill it first."""


class UniverseName(NamedTuple):
    instrument_key: str
    trading_symbol: str


@dataclass(frozen=True)
class EvaluateConfig:
    """The scanner's settings the replay runs with, the forward-return horizons
    (minutes) and optionally the last cycle time of a day (IST)."""

    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    horizons: tuple[int, ...] = (15, 30, 60)
    until: time | None = None

    def __post_init__(self) -> None:
        if not self.horizons or any(h < 1 for h in self.horizons):
            raise ValueError(f"horizons must be minutes >= 1, got {self.horizons}")


class Pick(NamedTuple):
    """One pick of one replayed cycle and what followed (percent; NaN past the close)."""

    ts_event: int
    rank: int
    instrument_key: str
    trading_symbol: str
    score: float
    last: float
    reasons: tuple[str, ...]
    returns: tuple[float, ...]
    universe: tuple[float, ...]


class HorizonStats(NamedTuple):
    minutes: int
    picks: int
    mean: float
    median: float
    hit_rate: float
    universe_count: int
    universe_mean: float
    universe_median: float
    universe_hit_rate: float
    excess: float
    beat_rate: float


class EvaluateReport(NamedTuple):
    start: date
    end: date
    days: tuple[date, ...]
    days_without_data: tuple[date, ...]
    cycles: int
    universe: int
    picks: tuple[Pick, ...]
    horizons: tuple[HorizonStats, ...]


ProgressFn = Callable[[date, int, int], None]
"""Called after each replayed day with (day, cycles, names scanned that day)."""


def cycle_times(day: date, config: EvaluateConfig, calendar: ExchangeCalendar) -> list[int]:
    """The day's cycle instants (UTC ns), as the live scanner's schedule has them
    (``first_at`` every ``interval_seconds``; on a session opening at another time,
    ``first_at`` keeps its distance from the open), up to ``until``, and early enough for
    the shortest horizon to end by the close."""
    s = config.scanner
    bounds = session_times(calendar, day).bounds_ns(day)

    def at(t: time) -> int:
        return datetime_to_ns(datetime.combine(day, t, tzinfo=IST))

    first = bounds.open + max(at(s.first_at) - at(NORMAL_OPEN), 0)
    last = bounds.close - min(config.horizons) * 60 * NS_PER_SECOND
    if config.until is not None:
        last = min(last, bounds.open + at(config.until) - at(NORMAL_OPEN))
    return list(range(first, last + 1, s.interval_seconds * NS_PER_SECOND))


def _pct_return(later: F, entry: F) -> F:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F = np.where((entry > 0) & (later > 0), (later / entry - 1.0) * 100.0, np.nan)
    return out


@dataclass
class _Tally:
    """Forward returns collected per horizon."""

    horizons: tuple[int, ...]
    picks: list[list[float]] = field(default_factory=list)
    excess: list[list[float]] = field(default_factory=list)
    universe: list[list[F]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.picks = [[] for _ in self.horizons]
        self.excess = [[] for _ in self.horizons]
        self.universe = [[] for _ in self.horizons]

    def stats(self) -> tuple[HorizonStats, ...]:
        out = []
        for j, h in enumerate(self.horizons):
            p = np.array(self.picks[j])
            u = np.concatenate(self.universe[j]) if self.universe[j] else np.empty(0)
            x = np.array(self.excess[j])
            out.append(
                HorizonStats(
                    minutes=h,
                    picks=int(p.size),
                    mean=_mean(p),
                    median=_median(p),
                    hit_rate=_share(p > 0, p.size),
                    universe_count=int(u.size),
                    universe_mean=_mean(u),
                    universe_median=_median(u),
                    universe_hit_rate=_share(u > 0, u.size),
                    excess=_mean(x),
                    beat_rate=_share(x > 0, x.size),
                )
            )
        return tuple(out)


def _mean(a: F) -> float:
    return float(np.mean(a)) if a.size else math.nan


def _median(a: F) -> float:
    return float(np.median(a)) if a.size else math.nan


def _share(mask: npt.NDArray[np.bool_], n: int) -> float:
    return float(np.count_nonzero(mask)) / n if n else math.nan


def _no_data_error(start: date, end: date, config: EvaluateConfig, names: int) -> NoStoredCandles:
    s = config.scanner
    minutes_from = start - timedelta(days=s.volume_days * 7 // 5 + 4)
    days_from = start - timedelta(days=s.history_days * 7 // 5 + 10)
    return NoStoredCandles(
        f"no one-minute candles are stored between {start} and {end} for the {names} names "
        "of the universe; fill the store first, e.g.\n"
        f"  quant backfill --universe NSE_EQ --from {minutes_from} --to {end} "
        "--interval 1minute\n"
        f"  quant backfill --universe NSE_EQ --from {days_from} --to {end} --interval day\n"
        "and the same two for --symbols 'NIFTY 50' (the minutes cover the "
        f"{s.volume_days} sessions of volume and the days the {s.history_days} sessions the "
        f"signals look back on before {start})"
    )


def run_evaluate(
    reader: TickReader,
    universe: Sequence[UniverseName],
    start: date,
    end: date,
    *,
    config: EvaluateConfig = EvaluateConfig(),
    explicit: frozenset[str] = frozenset(),
    calendar: ExchangeCalendar = NSE_CALENDAR,
    progress: ProgressFn | None = None,
) -> EvaluateReport:
    """Replay ``[start, end]`` at every cycle time and report the picks' forward returns.

    ``explicit``: instrument keys scanned whatever their liquidity (named one by one, as
    in the live scanner's universe). Raises :class:`NoStoredCandles` when no day of the
    range has stored one-minute candles for the universe, ``ValueError`` for an empty
    universe or ``start > end``.
    """
    if start > end:
        raise ValueError(f"--from {start} is after --to {end}")
    if not universe:
        raise ValueError("the universe is empty: nothing to evaluate")
    s = config.scanner
    candles = StoreCandles(reader)
    keys = [u.instrument_key for u in universe] + [s.index_key]
    n = len(universe)
    lookback = start - timedelta(days=max(s.history_days, s.volume_days) * 2 + 15)
    sessions = session_days(candles, lookback, end, calendar=calendar, index_key=s.index_key)
    eval_days = [d for d in sessions if d >= start]
    before = [d for d in sessions if d < start]
    if not eval_days:
        raise _no_data_error(start, end, config, n)
    daily = DailyCandles.load(candles, keys, before[0] if before else start, end)
    # previous sessions: minute bars for the same-time volume, and for day candles that
    # are not stored (aggregated from the minutes)
    window = before[-s.history_days :]
    vol_days = before[-s.volume_days :]
    priors: dict[date, PriorSession] = {
        bars.day: PriorSession.of(bars)
        for bars in load_minute_bars(candles, keys, vol_days, calendar=calendar)
    }
    rest = [d for d in window if d not in priors]
    priors.update(day_candles_from_minutes(candles, keys, daily, rest, calendar=calendar))
    tally = _Tally(config.horizons)
    picks: list[Pick] = []
    empty: list[date] = []
    cycles = 0
    for day in eval_days:
        (today,) = load_minute_bars(candles, keys, [day], calendar=calendar)
        past = [d for d in sessions if d < day]
        if not today.has_any[:n].any():
            empty.append(day)
        else:
            done, names = _replay_day(
                today,
                universe,
                explicit,
                history=daily.window(past[-s.history_days :], priors),
                volume_priors=[priors[d] for d in past[-s.volume_days :] if d in priors],
                config=config,
                calendar=calendar,
                tally=tally,
                picks=picks,
            )
            cycles += done
            if progress is not None:
                progress(day, done, names)
        priors[day] = PriorSession.of(today)
        _trim(priors, [*past, day], s)
    if len(empty) == len(eval_days):
        raise _no_data_error(start, end, config, n)
    return EvaluateReport(
        start=start,
        end=end,
        days=tuple(d for d in eval_days if d not in empty),
        days_without_data=tuple(empty),
        cycles=cycles,
        universe=n,
        picks=tuple(picks),
        horizons=tally.stats(),
    )


def _trim(priors: dict[date, PriorSession], sessions: Sequence[date], s: ScannerSettings) -> None:
    """Keep what the next day looks back on: day candles of ``history_days`` sessions,
    minute bars of ``volume_days``."""
    keep = set(sessions[-s.history_days :])
    keep_minutes = set(sessions[-s.volume_days :])
    for d in list(priors):
        prior = priors[d]
        if d not in keep and d not in keep_minutes:
            del priors[d]
        elif d not in keep_minutes and prior.bars is not None:
            priors[d] = PriorSession.of(prior.bars, keep_minutes=False)


def _take(inputs: ScanInputs, rows: npt.NDArray[np.int64]) -> ScanInputs:
    """The inputs of the names at ``rows`` only."""
    i = inputs
    return replace(
        i,
        last=i.last[rows],
        prev_close=i.prev_close[rows],
        day_open=i.day_open[rows],
        vwap=i.vwap[rows],
        volume=i.volume[rows],
        or_high=i.or_high[rows],
        or_low=i.or_low[rows],
        daily_high=i.daily_high[rows],
        daily_low=i.daily_low[rows],
        daily_close=i.daily_close[rows],
        daily_volume=i.daily_volume[rows],
        same_time_volume=i.same_time_volume[rows],
        minute_close=i.minute_close[rows],
    )


def _replay_day(
    today: MinuteBars,
    universe: Sequence[UniverseName],
    explicit: frozenset[str],
    *,
    history: DailyWindow,
    volume_priors: Sequence[PriorSession],
    config: EvaluateConfig,
    calendar: ExchangeCalendar,
    tally: _Tally,
    picks: list[Pick],
) -> tuple[int, int]:
    """Every cycle of one day; returns (cycles, names scanned)."""
    s = config.scanner
    n = len(universe)
    keys = [u.instrument_key for u in universe]
    rows = np.asarray(
        scanned(
            keys,
            DailyHistory(
                (), history.high[:n], history.low[:n], history.close[:n], history.volume[:n]
            ),
            explicit,
            min_price=s.min_price,
            min_turnover=s.min_turnover,
        ),
        dtype=np.int64,
    )
    if rows.size == 0:
        return 0, 0
    sub_keys = [keys[i] for i in rows]
    sub_symbols = [universe[i].trading_symbol for i in rows]
    position = {k: j for j, k in enumerate(sub_keys)}
    cycles = 0
    for t in cycle_times(today.day, config, calendar):
        inputs = _take(
            scan_inputs(
                today, t, daily=history, volume_priors=volume_priors, or_minutes=s.or_minutes
            ),
            rows,
        )
        m = today.complete(t)
        last_paise = [0 if math.isnan(p) else round(p * 100) for p in inputs.last.tolist()]
        ranked = rank(
            inputs, keys=sub_keys, symbols=sub_symbols, last_paise=last_paise, now_ns=t, settings=s
        )
        cycles += 1
        fwd = [
            _pct_return(today.close_at(m + h)[rows], inputs.last)
            if m + h <= today.minutes
            else np.full(rows.size, np.nan)
            for h in config.horizons
        ]
        avg = []
        for j, ret in enumerate(fwd):
            u = ret[~np.isnan(ret)]
            mean = float(np.mean(u)) if u.size else math.nan
            avg.append(mean)
            if u.size:
                tally.universe[j].append(u)
            for pick in ranked.picks:
                r = float(ret[position[pick.instrument_key]])
                if not math.isnan(r):
                    tally.picks[j].append(r)
                    tally.excess[j].append(r - mean)
        for pick in ranked.picks:
            i = position[pick.instrument_key]
            picks.append(
                Pick(
                    ts_event=t,
                    rank=pick.rank,
                    instrument_key=pick.instrument_key,
                    trading_symbol=pick.trading_symbol,
                    score=pick.score,
                    last=float(inputs.last[i]),
                    reasons=pick.reasons,
                    returns=tuple(float(r[i]) for r in fwd),
                    universe=tuple(avg),
                )
            )
    return cycles, int(rows.size)


# -- presentation ---------------------------------------------------------------------------


def _fmt(v: float, spec: str) -> str:
    return "-" if math.isnan(v) else format(v, spec)


def format_report(report: EvaluateReport) -> str:
    """The report as a readable table (returns in percent)."""
    lines = [
        f"scanner evaluation {report.start} .. {report.end}: {len(report.days)} session(s), "
        f"{report.cycles} cycles, {report.universe} names, {len(report.picks)} picks",
    ]
    if report.days_without_data:
        missing = ", ".join(str(d) for d in report.days_without_data)
        lines.append(f"no stored one-minute candles on: {missing}")
    header = (
        f"{'horizon':>8} {'picks':>7} {'mean %':>8} {'median %':>9} {'hit %':>6} "
        f"{'univ mean %':>12} {'univ median %':>14} {'univ hit %':>11} "
        f"{'excess %':>9} {'beat %':>7}"
    )
    lines += ["", header, "-" * len(header)]
    for s in report.horizons:
        lines.append(
            f"{str(s.minutes) + ' min':>8} {s.picks:>7} {_fmt(s.mean, '+.3f'):>8} "
            f"{_fmt(s.median, '+.3f'):>9} {_fmt(s.hit_rate * 100, '.1f'):>6} "
            f"{_fmt(s.universe_mean, '+.3f'):>12} {_fmt(s.universe_median, '+.3f'):>14} "
            f"{_fmt(s.universe_hit_rate * 100, '.1f'):>11} {_fmt(s.excess, '+.3f'):>9} "
            f"{_fmt(s.beat_rate * 100, '.1f'):>7}"
        )
    lines.append("")
    lines.append(
        "hit %: share of returns > 0; excess: a pick's return minus the universe average at "
        "the same cycle; beat %: share of picks above it"
    )
    return "\n".join(lines)


def _iso(ts_ns: int) -> str:
    return ns_to_datetime(ts_ns, IST).isoformat(timespec="minutes")


def write_csv(report: EvaluateReport, path: Path, horizons: Sequence[int]) -> None:
    """One row per pick: cycle time (IST), rank, symbol, score, entry, returns per horizon
    and the universe average per horizon (percent; empty past the close)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["ts", "rank", "instrument_key", "trading_symbol", "score", "last"]
            + [f"ret_{h}m" for h in horizons]
            + [f"universe_{h}m" for h in horizons]
            + ["reasons"]
        )
        for p in report.picks:
            w.writerow(
                [_iso(p.ts_event), p.rank, p.instrument_key, p.trading_symbol]
                + [f"{p.score:.6f}", f"{p.last:.2f}"]
                + ["" if math.isnan(r) else f"{r:.6f}" for r in (*p.returns, *p.universe)]
                + ["; ".join(p.reasons)]
            )


def _num(v: float) -> float | None:
    return None if math.isnan(v) else v


def report_json(report: EvaluateReport) -> dict[str, object]:
    """The report as JSON-ready data (NaN as null)."""
    return {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "days": [d.isoformat() for d in report.days],
        "days_without_data": [d.isoformat() for d in report.days_without_data],
        "cycles": report.cycles,
        "universe": report.universe,
        "horizons": [
            {k: (_num(v) if isinstance(v, float) else v) for k, v in s._asdict().items()}
            for s in report.horizons
        ],
        "picks": [
            {
                "ts": _iso(p.ts_event),
                "rank": p.rank,
                "instrument_key": p.instrument_key,
                "trading_symbol": p.trading_symbol,
                "score": _num(p.score),
                "last": p.last,
                "reasons": list(p.reasons),
                "returns": [_num(r) for r in p.returns],
                "universe": [_num(r) for r in p.universe],
            }
            for p in report.picks
        ],
    }


def write_json(report: EvaluateReport, path: Path) -> None:
    path.write_text(json.dumps(report_json(report), indent=1) + "\n", encoding="utf-8")
