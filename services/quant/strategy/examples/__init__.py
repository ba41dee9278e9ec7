"""Example strategies shipped with the platform (``quant up`` runs ``ma_cross.MaCross``).

Each is an ordinary strategy class (``quant.trading.strategy.Strategy``), loadable by its
spec, e.g. ``quant strategy run quant.strategy.examples.ma_cross:MaCross``.
"""
