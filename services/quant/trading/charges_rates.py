"""The one table of Indian per-trade charge rates, and the brokerage tariffs.

Read by :mod:`quant.trading.charges` (and, through it, by the execution service and the
simulator's ``GET /v2/charges/brokerage``). Every number comes from ``shared/CHARGES.md``
(section in brackets); each row carries the date it took effect, and a fill on a date is
charged at the latest row in force that day. A date before a levy's first row is refused
(:class:`RateNotFoundError`): nothing is charged at a guessed rate. The table starts on
1 Apr 2023, the first date for which CHARGES.md has every NSE rate.

Rows marked ``unconfirmed=True`` are the ones CHARGES.md §8 lists as unconfirmed or
disputed; the values chosen are the ones CHARGES.md's Upstox examples (§7) use.

Rates are exact fractions of the base value (``pct("0.1")`` is 0.1 %), never floats. Each
is also a whole number of 1/:data:`RATE_DENOMINATOR` (:func:`rate_numerator`), which is
what :mod:`quant.trading.charges` computes with: integer paise x integer numerator, exact.
A rate that is not (e.g. 1/3, or a percent with more than 7 decimals) is refused when its
row is built, so a table that imports is a table the integer arithmetic prices exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction

#: every rate is a whole number of 1/RATE_DENOMINATOR (10^-9: a percent to 7 decimals)
RATE_DENOMINATOR = 10**9


def pct(percent: str) -> Fraction:
    """An exact rate from a percent string: ``pct("0.00297")`` is 0.00297 %."""
    return Fraction(percent) / 100


def rate_numerator(rate: Fraction | int) -> int:
    """``rate`` as a whole number of 1/:data:`RATE_DENOMINATOR`; a ValueError if it is not one.

    ``rate_numerator(pct("0.00297")) == 29_700``: 0.00297 % is 29,700 / 10^9.
    """
    scaled = Fraction(rate) * RATE_DENOMINATOR
    if scaled.denominator != 1 or scaled < 0:
        raise ValueError(
            f"rate {rate} is not a non-negative whole number of 1/{RATE_DENOMINATOR}: "
            "the charges compute in integers (a percent may have at most 7 decimals)"
        )
    return scaled.numerator


class Levy(StrEnum):
    """The statutory and exchange levies in the table (brokerage and DP live in a Tariff)."""

    STT = "stt"
    EXCHANGE = "exchange"
    IPFT = "ipft"
    SEBI = "sebi"
    STAMP = "stamp"
    GST = "gst"


class Market(StrEnum):
    """What a fill trades, as the charges see it (the base of option levies is the premium)."""

    EQUITY_DELIVERY = "equity_delivery"
    EQUITY_INTRADAY = "equity_intraday"
    FUTURES = "futures"
    OPTIONS = "options"


ANY = "*"
CASH = frozenset({Market.EQUITY_DELIVERY, Market.EQUITY_INTRADAY})
ALL_MARKETS = frozenset(Market)
FUT = frozenset({Market.FUTURES})
OPT = frozenset({Market.OPTIONS})
DELIVERY = frozenset({Market.EQUITY_DELIVERY})
INTRADAY = frozenset({Market.EQUITY_INTRADAY})

# BSE's cash charge depends on the scrip group (CHARGES.md §3); its option charge on the
# index. These are the accepted ``rate_class`` values; "" on BSE cash means groups A/B.
BSE_GROUP_AB = frozenset({"", "A", "B", "E", "F", "FC", "G", "GC", "W", "T"})
BSE_GROUP_X = frozenset({"X", "XT", "Z", "ZP"})
BSE_GROUP_SS = frozenset({"SS", "ST"})
BSE_GROUP_M = frozenset({"M", "MT", "TS", "MS"})
BSE_OPT_INDEX = frozenset({"SENSEX", "BANKEX"})
BSE_OPT_OTHER = frozenset({"SENSEX50", "STOCK"})
ANY_CLASS: frozenset[str] = frozenset()  # the row applies whatever the rate class


@dataclass(frozen=True, slots=True)
class RateRow:
    """One rate: ``levy`` on ``markets`` of ``exchange`` for ``side`` from ``effective_from``.

    ``exchange`` and ``side`` may be ``"*"``; ``rate_classes`` empty means any class.
    A levy with no row for a market/side (e.g. stamp duty on a sell) does not apply.
    """

    levy: Levy
    exchange: str
    markets: frozenset[Market]
    side: str
    effective_from: date
    rate: Fraction
    rate_classes: frozenset[str] = ANY_CLASS
    unconfirmed: bool = False

    def __post_init__(self) -> None:
        rate_numerator(self.rate)  # refuse a rate the integer charges cannot carry exactly


_FY24 = date(2023, 4, 1)
_APR24 = date(2024, 4, 1)
_OCT24 = date(2024, 10, 1)
_APR26 = date(2026, 4, 1)

R = RateRow
RATES: tuple[RateRow, ...] = (
    # --- STT, statutory, any exchange (CHARGES.md §2). s.98 Finance (No.2) Act 2004; Oct 2024
    # by Finance (No.2) Act 2024; Apr 2026 by Finance Act 2026 (Budget 1 Feb 2026). CHARGES.md
    # gives no start for its first column: the rows start with the table, 1 Apr 2023.
    R(Levy.STT, ANY, DELIVERY, "BUY", _FY24, pct("0.1")),  # delivery: both sides, on value
    R(Levy.STT, ANY, DELIVERY, "SELL", _FY24, pct("0.1")),
    R(Levy.STT, ANY, INTRADAY, "SELL", _FY24, pct("0.025")),  # intraday: sell side only
    R(Levy.STT, ANY, FUT, "SELL", _FY24, pct("0.0125")),  # futures: sell, on price x qty
    R(Levy.STT, ANY, FUT, "SELL", _OCT24, pct("0.02")),  # from 1 Oct 2024
    R(Levy.STT, ANY, FUT, "SELL", _APR26, pct("0.05")),  # from 1 Apr 2026
    R(Levy.STT, ANY, OPT, "SELL", _FY24, pct("0.0625")),  # options sold: on premium
    R(Levy.STT, ANY, OPT, "SELL", _OCT24, pct("0.1")),  # from 1 Oct 2024
    R(Levy.STT, ANY, OPT, "SELL", _APR26, pct("0.15")),  # from 1 Apr 2026
    # --- NSE transaction charges, each side (CHARGES.md §3): FY2023-24 and 1 Apr-30 Sep 2024
    # from sbmcpl.co.in's copy of Upstox's table [3P]; from 1 Oct 2024 NSE circular of
    # 27 Sep 2024 (uniform rates), still in force Jun 2025, no later change found.
    R(Levy.EXCHANGE, "NSE", CASH, ANY, _FY24, pct("0.00325")),
    R(Levy.EXCHANGE, "NSE", CASH, ANY, _APR24, pct("0.00322")),
    R(Levy.EXCHANGE, "NSE", CASH, ANY, _OCT24, pct("0.00297")),  # Rs 2.97 per lakh
    R(Levy.EXCHANGE, "NSE", FUT, ANY, _FY24, pct("0.0019")),
    R(Levy.EXCHANGE, "NSE", FUT, ANY, _APR24, pct("0.00188")),
    R(Levy.EXCHANGE, "NSE", FUT, ANY, _OCT24, pct("0.00173")),
    R(Levy.EXCHANGE, "NSE", OPT, ANY, _FY24, pct("0.050")),  # on premium
    R(Levy.EXCHANGE, "NSE", OPT, ANY, _APR24, pct("0.0495")),
    R(Levy.EXCHANGE, "NSE", OPT, ANY, _OCT24, pct("0.03503")),
    # --- BSE transaction charges, each side, BSE circular of 27 Sep 2024, from 1 Oct 2024
    # (CHARGES.md §3). Earlier BSE rates are not in CHARGES.md: BSE fills before then are
    # refused. Cash by scrip group (the instrument master does not carry the group: an
    # unknown group is charged at the A/B rate, hence unconfirmed; CHARGES.md §8.9).
    R(Levy.EXCHANGE, "BSE", CASH, ANY, _OCT24, pct("0.00375"), BSE_GROUP_AB, unconfirmed=True),
    R(Levy.EXCHANGE, "BSE", CASH, ANY, _OCT24, pct("0.1"), BSE_GROUP_X),  # Rs 10,000/cr
    R(Levy.EXCHANGE, "BSE", CASH, ANY, _OCT24, pct("1"), BSE_GROUP_SS),  # Rs 1,00,000/cr
    R(Levy.EXCHANGE, "BSE", CASH, ANY, _OCT24, pct("0.00275"), BSE_GROUP_M),  # Rs 275/cr
    R(Levy.EXCHANGE, "BSE", FUT, ANY, _OCT24, Fraction(0)),  # equity futures: nil
    R(Levy.EXCHANGE, "BSE", OPT, ANY, _OCT24, pct("0.0325"), BSE_OPT_INDEX),  # Rs 3,250/cr
    R(Levy.EXCHANGE, "BSE", OPT, ANY, _OCT24, pct("0.005"), BSE_OPT_OTHER),  # Rs 500/cr
    # --- NSE IPFT (Investor Protection Fund Trust), NSE trades only, each side, from
    # 1 Apr 2023 (CHARGES.md §4, ndtvprofit report). No BSE row: not charged on BSE.
    R(Levy.IPFT, "NSE", CASH | FUT, ANY, _FY24, pct("0.0001")),  # Rs 10/cr
    R(Levy.IPFT, "NSE", OPT, ANY, _FY24, pct("0.0005")),  # Rs 50/cr of premium
    # --- SEBI turnover fee Rs 10/crore, each side, options on premium: SEBI (Payment of
    # Fees) Amendment Regulations 2019, from 1 Apr 2019 (CHARGES.md §4).
    R(Levy.SEBI, ANY, ALL_MARKETS, ANY, date(2019, 4, 1), pct("0.0001")),
    # --- Stamp duty, buy side only, uniform across states since 1 Jul 2020: Indian Stamp
    # Act as amended by Finance Act 2019 (CHARGES.md §4; NSE and Upstox announcements).
    R(Levy.STAMP, ANY, DELIVERY, "BUY", date(2020, 7, 1), pct("0.015")),
    R(Levy.STAMP, ANY, INTRADAY, "BUY", date(2020, 7, 1), pct("0.003")),
    R(Levy.STAMP, ANY, FUT, "BUY", date(2020, 7, 1), pct("0.002")),
    R(Levy.STAMP, ANY, OPT, "BUY", date(2020, 7, 1), pct("0.003")),  # on premium
    # --- GST 18 % on brokerage + exchange + SEBI fee (+ DP); never on STT or stamp
    # (Upstox help 257195, CHARGES.md §4). In force on SEBI fees since 18 Jul 2022 (BSE
    # notice 20221130-3); earlier dates are not tabulated.
    R(Levy.GST, ANY, ALL_MARKETS, ANY, date(2022, 7, 18), pct("18")),
)
del R


@dataclass(frozen=True, slots=True)
class BrokerageRule:
    """Brokerage per executed order: ``min(cap, rate x order value)``, or ``cap`` if no rate."""

    cap_paise: int
    rate: Fraction | None = None

    def __post_init__(self) -> None:
        if self.rate is not None:
            rate_numerator(self.rate)  # as RateRow: exact in 1/RATE_DENOMINATOR or refused


@dataclass(frozen=True, slots=True)
class BrokerageRow:
    market: Market
    effective_from: date
    rule: BrokerageRule
    unconfirmed: bool = False


@dataclass(frozen=True, slots=True)
class Tariff:
    """A broker's price list and the way its calculator rounds and taxes.

    ``dp_paise`` is the depository charge per scrip per day on delivery sells (before GST);
    ``stamp_to_rupee`` rounds stamp duty to the rupee (else to the paisa);
    ``gst_on_sebi`` / ``gst_on_ipft`` put the SEBI fee / IPFT into the GST base.
    """

    name: str
    brokerage: tuple[BrokerageRow, ...]
    dp_paise: int
    dp_plan: str
    stamp_to_rupee: bool
    gst_on_sebi: bool
    gst_on_ipft: bool


_UPSTOX_FROM = date(2021, 9, 21)  # CHARGES.md's only date for the current card (§1)
_RS20 = 2000  # paise

# Upstox's published tariff (CHARGES.md §1; help 257195 current, 257381, 257373 older).
# One rate card for all clients (help folder 276845). CHARGES.md gives no start date for
# the current card besides 21 Sep 2021 (delivery, new accounts) and no later change.
UPSTOX = Tariff(
    name="upstox",
    brokerage=(
        # "up to Rs 20"; older pages: Rs 20 or 2.5 %, lower; pre-Sep-2021 accounts free
        # (CHARGES.md §8.2): account-specific, unconfirmed.
        BrokerageRow(Market.EQUITY_DELIVERY, _UPSTOX_FROM, BrokerageRule(_RS20, pct("2.5")), True),
        # Rs 20 or 0.1 % (current help 257195); calculator FAQ says 0.05 % (§8.1).
        BrokerageRow(Market.EQUITY_INTRADAY, _UPSTOX_FROM, BrokerageRule(_RS20, pct("0.1")), True),
        BrokerageRow(Market.FUTURES, _UPSTOX_FROM, BrokerageRule(_RS20, pct("0.05"))),
        BrokerageRow(Market.OPTIONS, _UPSTOX_FROM, BrokerageRule(_RS20)),  # flat Rs 20
    ),
    # DP: CDSL Rs 3.50 + Upstox Rs 15 per ISIN per day on delivery sells, + GST (CHARGES.md
    # §4; Upstox calculator, help 248667). Plan name from the brokerage API sample (§6B).
    dp_paise=1850,
    dp_plan="DP3A",
    stamp_to_rupee=False,  # Upstox API sample shows stamp in paise (§5; §8.5 unconfirmed)
    gst_on_sebi=True,  # Upstox help 257195 lists SEBI in the base (§8.3 unconfirmed)
    gst_on_ipft=False,  # "no GST on IPFT", Upstox help 260397 (§8.4)
)

# Zerodha's calculator, as CHARGES.md §6A reconstructs it from public copies: here only
# so that the one set of numbers quoted from a public calculator can be checked to the
# paisa. Brokerage Rs 20 or 0.03 % (intraday, futures), flat Rs 20 (options), delivery
# free; IPFT inside the exchange charge and taxed; stamp rounded to the rupee.
ZERODHA = Tariff(
    name="zerodha",
    brokerage=(
        BrokerageRow(Market.EQUITY_DELIVERY, _UPSTOX_FROM, BrokerageRule(0)),
        BrokerageRow(Market.EQUITY_INTRADAY, _UPSTOX_FROM, BrokerageRule(_RS20, pct("0.03"))),
        BrokerageRow(Market.FUTURES, _UPSTOX_FROM, BrokerageRule(_RS20, pct("0.03"))),
        BrokerageRow(Market.OPTIONS, _UPSTOX_FROM, BrokerageRule(_RS20)),
    ),
    dp_paise=1350,  # not used by the checked examples (they exclude DP)
    dp_plan="",
    stamp_to_rupee=True,
    gst_on_sebi=True,
    gst_on_ipft=True,
)


class RateNotFoundError(ValueError):
    """No row of the table was in force on the date asked for."""


def _matches(row: RateRow, exchange: str, market: Market, side: str, rate_class: str) -> bool:
    return (
        row.exchange in (ANY, exchange)
        and market in row.markets
        and row.side in (ANY, side)
        and (not row.rate_classes or rate_class in row.rate_classes)
    )


def levy_rate(
    levy: Levy, exchange: str, market: Market, side: str, on: date, rate_class: str = ""
) -> Fraction:
    """The rate of ``levy`` in force on ``on``; 0 if the levy does not apply at all.

    Raises :class:`RateNotFoundError` if rows exist but none was in force yet, or if the
    levy depends on a rate class and ``rate_class`` is none of the known ones.
    """
    rows = [r for r in RATES if r.levy is levy and r.exchange in (ANY, exchange)]
    rows = [r for r in rows if market in r.markets and r.side in (ANY, side)]
    if not rows:
        return Fraction(0)
    classed = [r for r in rows if _matches(r, exchange, market, side, rate_class)]
    if not classed:
        known = sorted({c for r in rows for c in r.rate_classes} - {""})
        raise RateNotFoundError(
            f"{levy} on {exchange} {market}: rate class {rate_class!r} is unknown; "
            f"expected one of {', '.join(known)}"
        )
    in_force = [r for r in classed if r.effective_from <= on]
    if not in_force:
        first = min(r.effective_from for r in classed)
        raise RateNotFoundError(
            f"{levy} on {exchange} {market} {side}: no rate tabulated before {first} "
            f"(asked for {on}); see shared/CHARGES.md"
        )
    return max(in_force, key=lambda r: r.effective_from).rate


def brokerage_rule(tariff: Tariff, market: Market, on: date) -> BrokerageRule:
    """The tariff's brokerage rule for ``market`` in force on ``on``."""
    rows = [r for r in tariff.brokerage if r.market is market and r.effective_from <= on]
    if not rows:
        raise RateNotFoundError(
            f"{tariff.name} brokerage for {market}: no tariff tabulated on {on}"
        )
    return max(rows, key=lambda r: r.effective_from).rule
