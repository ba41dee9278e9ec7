"""Type stub of the native ``quant_wire`` extension (built from ``native/quant_wire``).

Imported by :mod:`quant.upstox.wire` (feed frames) and :mod:`quant.bus.codec_marketdata` (bus
ticks, in tuples or columns, and enriched ticks from columns), which select it over their
pure-Python paths.
"""

from collections.abc import Collection

def decode_frame(
    data: bytes,
    ts_init: int,
    tick_cls: type[tuple[object, ...]],
    depth_cls: type[tuple[object, ...]],
    ohlc_cls: type[tuple[object, ...]],
    greeks_cls: type[tuple[object, ...]],
    modes: tuple[object, object, object, object],
    bounds: tuple[int, int, int, int, int, Collection[str] | None] | None = None,
) -> tuple[int, int, list[object], list[object], list[tuple[str, int]], list[tuple[str, str]]]: ...
def decode_ticks(
    messages: list[bytes],
    tick_cls: type[tuple[object, ...]],
    depth_cls: type[tuple[object, ...]],
    ohlc_cls: type[tuple[object, ...]],
    modes: tuple[object, object, object, object],
) -> list[object | None]: ...
def decode_tick_columns(
    messages: list[bytes],
    max_levels: int,
    modes: tuple[int, int, int, int],
) -> tuple[list[str], bytearray, bytearray, int, list[int]]: ...
def encode_enriched_columns(
    keys: list[str],
    ints: list[object],
    floats: list[object],
    ts_enriched: int,
) -> list[bytes]: ...
def encode_ticks(rows: list[tuple[object, ...]]) -> list[bytes]: ...
