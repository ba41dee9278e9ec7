"""The simulated instrument master: rows in Upstox's BOD JSON schema plus numpy columns.

``build_universe(config, trade_date)`` makes, deterministically from the seed: NSE and BSE
equities (the NIFTY 50 with real ISINs plus synthetic names), indices, index and stock
futures, weekly and monthly option chains (NSE expiries on Tuesdays, BSE on Thursdays).
The market model works on the numpy columns; the REST layer serves :attr:`Universe.rows`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from quant.core.calendar import ExchangeCalendar
from quant.core.clock import NS_PER_MS
from quant.sim import calendar
from quant.sim.config import SimConfig
from quant.sim.rules import equity_tick_paise, lot_for, strike_step, synthetic_companies
from quant.sim.universe import INDEX_FNO, INDICES, NIFTY50, Company


class Kind(IntEnum):
    EQ = 0
    INDEX = 1
    FUT = 2
    CE = 3
    PE = 4


@dataclass(slots=True)
class Universe:
    """All instruments: JSON rows for the master files and columns for the model."""

    rows: list[dict[str, object]]
    keys: list[str]
    quote_keys: list[str]
    index_of: dict[str, int]
    kind: npt.NDArray[np.int8]
    tick: npt.NDArray[np.int64]
    lot: npt.NDArray[np.int64]
    freeze: npt.NDArray[np.int64]
    underlying: npt.NDArray[np.int64]
    strike: npt.NDArray[np.float64]
    expiry_ns: npt.NDArray[np.int64]
    ref_price: npt.NDArray[np.float64]
    vol: npt.NDArray[np.float64]
    adv: npt.NDArray[np.float64]
    index_members: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = field(
        default_factory=dict
    )
    gz_cache: dict[str | None, bytes] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def exchange_rows(self, exchange: str | None) -> list[dict[str, object]]:
        if exchange is None:
            return self.rows
        return [r for r in self.rows if r["exchange"] == exchange]


def _fmt_expiry(day: date) -> str:
    return day.strftime("%d %b %y").upper()


class _Builder:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.cols: dict[str, list[float]] = {
            k: []
            for k in ("kind", "tick", "lot", "freeze", "und", "strike", "exp", "ref", "vol", "adv")
        }
        self.quote_keys: list[str] = []

    def add(self, row: dict[str, object], quote_key: str, kind: Kind, **cols: float) -> int:
        idx = len(self.rows)
        self.rows.append(row)
        self.quote_keys.append(quote_key)
        self.cols["kind"].append(kind)
        for name in ("tick", "lot", "freeze", "strike", "exp", "ref", "vol", "adv"):
            self.cols[name].append(cols.get(name, 0.0))
        self.cols["und"].append(cols.get("und", idx))
        return idx


def _add_equities(b: _Builder, companies: list[Company], rng: random.Random) -> dict[str, int]:
    nse_rows: dict[str, int] = {}
    for exch, seg in (("NSE", "NSE_EQ"), ("BSE", "BSE_EQ")):
        for n, c in enumerate(companies):
            tick = equity_tick_paise(c.price)
            token = str(c.bse_code) if exch == "BSE" else str(1000 + 7 * n)
            row: dict[str, object] = {
                "segment": seg,
                "name": c.name,
                "exchange": exch,
                "isin": c.isin,
                "instrument_type": "EQ" if exch == "NSE" else ("A" if c.weight else "B"),
                "instrument_key": f"{seg}|{c.isin}",
                "lot_size": 1,
                "freeze_quantity": 100000.0,
                "exchange_token": token,
                "tick_size": float(tick),
                "trading_symbol": c.symbol,
                "short_name": c.name.title()[:20],
                "security_type": "NORMAL",
                "qty_multiplier": 1.0,
            }
            vol = 0.18 + 0.3 * rng.random()
            adv = (4e6 if c.weight else 2e5 * (1 + 4 * rng.random())) * (1000 / max(c.price, 50))
            und = nse_rows.get(c.symbol, -1)
            idx = b.add(
                row,
                f"{seg}:{c.symbol}",
                Kind.EQ,
                tick=tick,
                lot=1,
                freeze=100000,
                ref=c.price,
                vol=vol,
                adv=adv,
                **({"und": und} if und >= 0 else {}),
            )
            if exch == "NSE":
                nse_rows[c.symbol] = idx
    return nse_rows


def _add_derivatives(
    b: _Builder,
    und_idx: int,
    und_key: str,
    symbol: str,
    price: float,
    seg: str,
    expiries: list[tuple[date, bool]],
    futures: list[date],
    lot: int,
    freeze: int,
    step: float,
    each_side: int,
    und_type: str,
    token: list[int],
) -> None:
    exch = seg.split("_")[0]
    tick = 10 if und_type == "INDEX" else max(5, equity_tick_paise(price))
    common = {
        "segment": seg,
        "name": symbol,
        "exchange": exch,
        "asset_symbol": symbol,
        "underlying_symbol": symbol,
        "lot_size": lot,
        "freeze_quantity": float(freeze),
        "minimum_lot": lot,
        "asset_key": und_key,
        "underlying_key": und_key,
        "asset_type": und_type,
        "underlying_type": und_type,
        "qty_multiplier": 1.0,
    }
    for day in futures:
        token[0] += 1
        row = {
            "weekly": False,
            **common,
            "expiry": calendar.expiry_epoch_ms(day),
            "instrument_type": "FUT",
            "instrument_key": f"{seg}|{token[0]}",
            "exchange_token": str(token[0]),
            "tick_size": float(tick),
            "trading_symbol": f"{symbol} FUT {_fmt_expiry(day)}",
            "strike_price": 0.0,
        }
        b.add(
            row,
            f"{seg}:{symbol}{day:%y%b}FUT".upper(),
            Kind.FUT,
            tick=tick,
            lot=lot,
            freeze=freeze,
            und=und_idx,
            exp=calendar.expiry_epoch_ms(day) * NS_PER_MS,
            ref=price,
            adv=2e4 * lot,
        )
    atm = round(price / step) * step
    for day, weekly in expiries:
        exp_ns = calendar.expiry_epoch_ms(day) * NS_PER_MS
        for k in range(-each_side, each_side + 1):
            strike = atm + k * step
            if strike <= 0:
                continue
            for side in (Kind.CE, Kind.PE):
                token[0] += 1
                strike_txt = f"{strike:g}"
                row = {
                    "weekly": weekly,
                    **common,
                    "expiry": calendar.expiry_epoch_ms(day),
                    "instrument_type": side.name,
                    "instrument_key": f"{seg}|{token[0]}",
                    "exchange_token": str(token[0]),
                    "tick_size": 5.0,
                    "trading_symbol": f"{symbol} {strike_txt} {side.name} {_fmt_expiry(day)}",
                    "strike_price": float(strike),
                }
                qk = f"{seg}:{symbol}{day:%y%b}{strike_txt}{side.name}".upper()
                b.add(
                    row,
                    qk,
                    side,
                    tick=5,
                    lot=lot,
                    freeze=freeze,
                    und=und_idx,
                    exp=exp_ns,
                    strike=strike,
                    ref=price,
                    adv=5e3 * lot / (1 + abs(k)),
                )


def build_universe(config: SimConfig, trade_date: date) -> Universe:
    """The master for ``trade_date``, deterministic from the seed (cached: treat as read-only)."""
    return _cached_universe(
        config.seed,
        config.extra_equities,
        config.fno_extra_underlyings,
        config.calendar,
        trade_date,
    )


@lru_cache(maxsize=4)
def _cached_universe(
    seed: int, extra: int, fno_extra: int, cal: ExchangeCalendar, trade_date: date
) -> Universe:
    return _build(seed, extra, fno_extra, cal, trade_date)


def _build(
    seed: int, extra: int, fno_extra: int, hol: ExchangeCalendar, trade_date: date
) -> Universe:
    rng = random.Random(seed)
    companies = list(NIFTY50) + synthetic_companies(extra, rng)
    b = _Builder()
    nse = _add_equities(b, companies, rng)
    index_rows: dict[str, int] = {}
    for n, spec in enumerate(INDICES):
        exch = spec.segment.split("_")[0]
        row: dict[str, object] = {
            "segment": spec.segment,
            "name": spec.ident,
            "exchange": exch,
            "instrument_type": "INDEX",
            "instrument_key": f"{spec.segment}|{spec.ident}",
            "exchange_token": str(26000 + n),
            "trading_symbol": spec.symbol,
        }
        index_rows[spec.symbol] = b.add(
            row, f"{spec.segment}:{spec.ident}", Kind.INDEX, ref=spec.level, vol=spec.atm_vol
        )
    token = [35000]
    for fno in INDEX_FNO:
        spec = next(s for s in INDICES if s.symbol == fno.symbol)
        bse = spec.segment == "BSE_INDEX"
        weekday = 3 if bse else 1
        monthly = calendar.monthly_expiries(trade_date, weekday, fno.monthly, hol)
        weekly = calendar.weekly_expiries(trade_date, weekday, fno.weekly, hol)
        exps = sorted({(d, d not in monthly) for d in weekly} | {(d, False) for d in monthly})
        _add_derivatives(
            b,
            index_rows[fno.symbol],
            f"{spec.segment}|{spec.ident}",
            fno.symbol,
            spec.level,
            "BSE_FO" if bse else "NSE_FO",
            exps,
            monthly,
            fno.lot,
            fno.freeze,
            fno.strike_step,
            fno.strikes_each_side,
            "INDEX",
            token,
        )
    stock_monthly = calendar.monthly_expiries(trade_date, 1, 3, hol)
    fno_companies = companies[: len(NIFTY50) + fno_extra]
    for c in fno_companies:
        lot = lot_for(c.price)
        _add_derivatives(
            b,
            nse[c.symbol],
            f"NSE_EQ|{c.isin}",
            c.symbol,
            c.price,
            "NSE_FO",
            [(d, False) for d in stock_monthly[:2]],
            stock_monthly,
            lot,
            lot * 20,
            strike_step(c.price),
            15,
            "EQUITY",
            token,
        )
    uni = _finish(b)
    _attach_index_members(uni, companies, nse, index_rows)
    return uni


def _finish(b: _Builder) -> Universe:
    keys = [str(r["instrument_key"]) for r in b.rows]
    c = b.cols
    return Universe(
        rows=b.rows,
        keys=keys,
        quote_keys=b.quote_keys,
        index_of={k: i for i, k in enumerate(keys)},
        kind=np.asarray(c["kind"], dtype=np.int8),
        tick=np.asarray(c["tick"], dtype=np.int64),
        lot=np.asarray(c["lot"], dtype=np.int64),
        freeze=np.asarray(c["freeze"], dtype=np.int64),
        underlying=np.asarray(c["und"], dtype=np.int64),
        strike=np.asarray(c["strike"], dtype=np.float64),
        expiry_ns=np.asarray(c["exp"], dtype=np.int64),
        ref_price=np.asarray(c["ref"], dtype=np.float64),
        vol=np.asarray(c["vol"], dtype=np.float64),
        adv=np.asarray(c["adv"], dtype=np.float64),
    )


def _attach_index_members(
    uni: Universe, companies: list[Company], nse: dict[str, int], index_rows: dict[str, int]
) -> None:
    synthetic = [c.symbol for c in companies[len(NIFTY50) :]][:25]
    for spec in INDICES:
        if spec.symbol == "INDIA VIX":
            continue
        names = spec.members
        if names is None:
            names = tuple(c.symbol for c in NIFTY50)
        elif not names:
            names = tuple(synthetic)
        members = [nse[s] for s in names if s in nse]
        weights = np.asarray(
            [
                max(next((c.weight for c in NIFTY50 if c.symbol == s), 1.0), 0.1)
                for s in names
                if s in nse
            ],
            dtype=np.float64,
        )
        uni.index_members[index_rows[spec.symbol]] = (
            np.asarray(members, dtype=np.int64),
            weights / weights.sum(),
        )
