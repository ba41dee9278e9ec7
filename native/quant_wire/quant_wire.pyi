"""Type stub of the native ``quant_wire`` extension (built from ``native/quant_wire``).

Imported by :mod:`quant.upstox.wire`, which selects it over the pure-Python decoder.
"""

def decode_frame(
    data: bytes,
    ts_init: int,
    tick_cls: type[tuple[object, ...]],
    depth_cls: type[tuple[object, ...]],
    ohlc_cls: type[tuple[object, ...]],
    greeks_cls: type[tuple[object, ...]],
    modes: tuple[object, object, object, object],
) -> tuple[int, int, list[object], list[object], list[tuple[str, int]]]: ...
def decode_ticks(
    messages: list[bytes],
    tick_cls: type[tuple[object, ...]],
    depth_cls: type[tuple[object, ...]],
    ohlc_cls: type[tuple[object, ...]],
    modes: tuple[object, object, object, object],
) -> list[object | None]: ...
