"""Money and prices as integer paise (1 rupee = 100 paise); no floats for money.

The feed carries prices as doubles; :func:`to_paise` converts them at the edge, and
:func:`paise_to_str` formats them for people. Derived statistics (VWAP, microprice)
stay float64 inside the feature math.
"""

from __future__ import annotations

from decimal import Decimal

PAISE_PER_RUPEE = 100


def to_paise(rupees: float) -> int:
    """Convert a rupee amount from the wire (a double) to integer paise, rounding half away."""
    scaled = rupees * PAISE_PER_RUPEE
    return int(scaled + 0.5) if scaled >= 0 else -int(-scaled + 0.5)


def decimal_to_paise(rupees: Decimal | str) -> int:
    """Convert an exact decimal rupee amount to paise; raise if it has sub-paise digits."""
    value = Decimal(rupees) * PAISE_PER_RUPEE
    if value != value.to_integral_value():
        raise ValueError(f"{rupees} rupees is not a whole number of paise")
    return int(value)


def paise_to_decimal(paise: int) -> Decimal:
    """Exact rupee value of an amount in paise."""
    return Decimal(paise) / PAISE_PER_RUPEE


def paise_to_str(paise: int) -> str:
    """Format paise as rupees with two decimals, e.g. 123456 -> '1234.56'."""
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), PAISE_PER_RUPEE)
    return f"{sign}{whole}.{frac:02d}"
