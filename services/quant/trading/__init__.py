"""Pure trading domain: orders, positions, P&L and charges (no I/O, integer paise)."""
