"""The strategy service layer: loading user strategy classes (``loader``).

The strategy API itself (``Strategy``, ``StrategyContext``, ``StrategyHost``) is pure domain
in ``quant.trading.strategy``; this package is where strategies meet the outside world.
"""
