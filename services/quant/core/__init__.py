"""Pure domain: instruments, market-data events, orders, money, clock and calendar.

Nothing in here does I/O; the import contract in ``.importlinter`` enforces it.
"""
