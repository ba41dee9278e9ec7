"""The one rounding rule of the trading domain: integer division, halves away from zero.

Used where an amount in paise has to be divided: an order's average fill price
(``filled_value / filled_quantity``), a position's average price, and the share of a
position's cost taken out when part of it is closed. It matches ``quant.core.money.to_paise``
(halves away from zero). Only the *displayed* averages are rounded; P&L is computed from
exact sums, and the cost share taken out of a position is subtracted from the cost that
stays, so no paisa is created or lost by rounding.
"""

from __future__ import annotations


def div_round(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero."""
    if denominator == 0:
        raise ZeroDivisionError("div_round by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient
