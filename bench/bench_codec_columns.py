"""Benchmark: the columnar tick codecs against the tuple path they replace, on one core.

5,000 realistic FULL ticks (5 depth levels and a day bar, as ``make_tick`` in
``bench/bench_pipeline.py``), encoded as bus ``Tick`` messages. Times, in CPU seconds of
this process (``time.process_time``, best of ``--repeat``):

1. decode: ``from_ticks(decode_ticks(values))`` (native tuple decoder, then the transpose)
   vs ``decode_tick_columns(values)`` (native straight into column buffers); the upb-only
   ``decode_ticks_python`` + ``from_ticks`` is shown for reference.
2. encode: ``encode_enriched`` over ``to_enriched`` (upb, one message per row) vs
   ``encode_enriched_columns`` (native, from the arrays), with features computed by the
   real ``FeatureEngine``.
3. the ingestor's encode: ``encode_tick`` per ``Tick`` (upb) vs ``encode_ticks`` over the
   batch (native when ``quant_wire`` is installed).

Both outputs are checked to be identical first. Prints µs/tick and the speed-ups.
Run: ``python bench/bench_codec_columns.py [--ticks 5000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench_pipeline import T0, make_tick  # the same realistic ticks (run from bench/)
from quant.analytics.columns import TickColumns, from_ticks, to_enriched
from quant.analytics.engine import FeatureEngine
from quant.bus.codec_base import CodecError
from quant.bus.codec_marketdata import (
    TICK_BATCH_DECODER,
    TICK_BATCH_ENCODER,
    decode_ticks,
    decode_ticks_python,
    encode_enriched,
    encode_tick,
    encode_ticks,
)
from quant.core.clock import FakeClock
from quant.features.codec_columns import (
    ENRICHED_COLUMN_ENCODER,
    TICK_COLUMN_DECODER,
    decode_tick_columns,
    encode_enriched_columns,
)


def best(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs, CPU seconds (garbage collector off while timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
        finally:
            gc.enable()
    return min(times)


def tuple_decode(values: list[bytes]) -> TickColumns:
    return from_ticks([t for t in decode_ticks(values) if not isinstance(t, CodecError)])


def upb_decode(values: list[bytes]) -> TickColumns:
    return from_ticks([t for t in decode_ticks_python(values) if not isinstance(t, CodecError)])


def same_columns(a: TickColumns, b: TickColumns) -> bool:
    pairs: list[tuple[Any, Any]] = list(zip(a[1:], b[1:], strict=True))
    return a.keys == b.keys and all(np.array_equal(x, y) for x, y in pairs)


def row(name: str, seconds: float, n: int, baseline: float | None = None) -> None:
    ratio = f"{baseline / seconds:6.1f}x" if baseline is not None else ""
    print(f"  {name:<44} {seconds * 1e6 / n:8.3f} µs/tick  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.ticks, args.repeat

    ticks = [make_tick(i, T0 + i * 1000 + 500) for i in range(n)]
    values = [encode_tick(t) for t in ticks]
    assert encode_ticks(ticks) == values
    columns, errors = decode_tick_columns(values)
    assert not errors and same_columns(columns, tuple_decode(values))
    features, _ = FeatureEngine(FakeClock(T0)).process_columns(columns)
    ts = T0 + 10**9
    encoded = encode_enriched_columns(columns, features, ts)
    assert encoded == [encode_enriched(e) for e in to_enriched(columns, features, ts)]

    print(
        f"{n} FULL ticks, 5 depth levels; CPU time, best of {repeat}; decoders: "
        f"tuples {TICK_BATCH_DECODER}, columns {TICK_COLUMN_DECODER}, "
        f"encoders: enriched {ENRICHED_COLUMN_ENCODER}, tick batches {TICK_BATCH_ENCODER}"
    )
    print("decode")
    upb = best(lambda: upb_decode(values), repeat)
    tuples = best(lambda: tuple_decode(values), repeat)
    cols = best(lambda: decode_tick_columns(values), repeat)
    row("decode_ticks_python + from_ticks (upb)", upb, n)
    row("decode_ticks + from_ticks", tuples, n)
    row("decode_tick_columns", cols, n, tuples)
    print(f"  {'(vs upb + from_ticks)':<44} {'':>17}  {upb / cols:6.1f}x")

    print("encode")
    to_tuples = best(lambda: to_enriched(columns, features, ts), repeat)
    per_row = best(lambda: [encode_enriched(e) for e in to_enriched(columns, features, ts)], repeat)
    native = best(lambda: encode_enriched_columns(columns, features, ts), repeat)
    row("to_enriched alone", to_tuples, n)
    row("to_enriched + encode_enriched", per_row, n)
    row("encode_enriched_columns", native, n, per_row)

    print("encode ticks (the ingestor)")
    one_by_one = best(lambda: [encode_tick(t) for t in ticks], repeat)
    batch = best(lambda: encode_ticks(ticks), repeat)
    row("encode_tick per tick (upb)", one_by_one, n)
    row("encode_ticks", batch, n, one_by_one)


if __name__ == "__main__":
    main()
