//! Columnar bus codecs: a batch of `quant.marketdata.v1.Tick` messages into int64 column
//! buffers, and `EnrichedTick` messages encoded straight from feature columns.
//!
//! Called by `quant.bus.codec_marketdata` (`decode_tick_columns`,
//! `encode_enriched_columns`), which wraps the buffers as numpy arrays without copying.
//!
//! Decoding reuses `marketdata.rs`'s reader: a message it does not accept outright
//! (malformed, a mode outside 1..=4, an unexpected wire type, not `bytes`) is reported by
//! index and left to the Python caller, which decodes it with upb exactly as
//! `decode_ticks` does. Encoding writes protobuf's canonical form as upb does: fields in
//! number order, proto3 defaults omitted (for doubles: all 64 bits zero, so -0.0 and every
//! NaN payload are written, bit for bit).

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};

use crate::marketdata::{self, BusTick, Level};

/// Rows of the decoded int matrix: the mapped mode, then `Tick` fields 3..=13 (ts_event,
/// ts_init, ltp, ltt_ns, ltq, close_price, volume, atp, oi, total buy qty, total sell qty).
const INT_ROWS: usize = 12;
/// Encoded `EnrichedTick` int64 fields taken from columns, in this order.
const ENRICHED_INTS: usize = 9;
/// Encoded `EnrichedTick` double fields taken from columns, in this order.
const ENRICHED_FLOATS: usize = 13;

/// Store `v` as the `idx`-th native-endian int64 of `buf`.
pub(crate) fn put(buf: &mut [u8], idx: usize, v: i64) {
    let at = idx * 8;
    buf[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

/// Depth levels kept between calls: a batch's levels are gathered here before the final
/// buffer's level count is known, and memory already touched costs no page faults.
#[derive(Default)]
struct Scratch {
    levels: Vec<Level>,
    counts: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Levels the scratch keeps between calls at most (8 MiB); a larger batch's are freed.
const SCRATCH_KEEP: usize = 1 << 18;

/// Decode a batch of bus `Tick` messages into column buffers.
///
/// Returns `(keys, ints, depth, levels, rejected)` for the `n` accepted messages in input
/// order: `ints` is a `bytearray` holding a row-major `(12, len(messages))` int64 matrix
/// whose first `n` columns are used (rows as in `INT_ROWS`, the mode mapped through
/// `modes`, the values for wire modes 1..=4), `depth` a `bytearray` holding an
/// `(n, levels, 4)` int64 array (bid price, bid qty, ask price, ask qty; the first
/// `levels` levels, zero where a tick has fewer), `levels` = min(max depth length in the
/// batch, `max_levels`), `rejected` the indices of the messages left to the caller.
#[pyfunction]
#[pyo3(signature = (messages, max_levels, modes))]
pub fn decode_tick_columns<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyList>,
    max_levels: i64,
    modes: [i64; 4],
) -> PyResult<Bound<'py, PyTuple>> {
    let Ok(max_levels) = usize::try_from(max_levels) else {
        return Err(PyValueError::new_err("max_levels must not be negative"));
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let out = decode_into(py, messages, max_levels, modes, &mut scratch);
            scratch.levels.clear();
            scratch.counts.clear();
            if scratch.levels.capacity() > SCRATCH_KEEP {
                *scratch = Scratch::default();
            }
            out
        }
        // not reachable (nothing in here calls back into Python), but never a panic
        Err(_) => decode_into(py, messages, max_levels, modes, &mut Scratch::default()),
    })
}

fn decode_into<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyList>,
    max_levels: usize,
    modes: [i64; 4],
    scratch: &mut Scratch,
) -> PyResult<Bound<'py, PyTuple>> {
    let objects: Vec<Bound<'py, PyAny>> = messages.iter().collect();
    let stride = objects.len();
    let int_len = stride
        .checked_mul(INT_ROWS * 8)
        .ok_or_else(|| PyValueError::new_err("tick batch too large"))?;
    let keys = PyList::empty(py);
    let mut rejected: Vec<usize> = Vec::new();
    let mut tick = BusTick::default();
    let mut n = 0usize;
    let mut levels = 0usize;
    // one pass: the int columns go straight into the final buffer (column stride = the
    // batch size, so no count is needed up front), the depth levels into the scratch
    let ints = PyByteArray::new_with(py, int_len, |buf| {
        for (i, obj) in objects.iter().enumerate() {
            let Ok(data) = obj.downcast::<PyBytes>() else {
                rejected.push(i);
                continue;
            };
            let parsed = catch_unwind(AssertUnwindSafe(|| {
                marketdata::parse_tick_into(data.as_bytes(), &mut tick)
            }));
            let mode = match parsed {
                Ok(Ok(())) => match tick.mode {
                    1 => modes[0],
                    2 => modes[1],
                    3 => modes[2],
                    4 => modes[3],
                    _ => {
                        rejected.push(i);
                        continue;
                    }
                },
                Ok(Err(_)) => {
                    rejected.push(i);
                    continue;
                }
                Err(_) => return Err(PyValueError::new_err("tick decoder panicked")),
            };
            put(buf, n, mode);
            for (k, &v) in tick.scalars.iter().enumerate() {
                put(buf, (k + 1) * stride + n, v);
            }
            let take = tick.depth.len().min(max_levels);
            scratch.levels.extend_from_slice(&tick.depth[..take]);
            scratch.counts.push(take);
            levels = levels.max(take);
            keys.append(PyString::new(py, tick.key))?;
            n += 1;
        }
        Ok(())
    })?;
    let depth_len = n
        .checked_mul(levels)
        .and_then(|x| x.checked_mul(32))
        .ok_or_else(|| PyValueError::new_err("tick batch too large"))?;
    let depth = PyByteArray::new_with(py, depth_len, |buf| {
        let mut from = scratch.levels.iter();
        for (j, &count) in scratch.counts.iter().enumerate() {
            for (l, d) in from.by_ref().take(count).enumerate() {
                let at = (j * levels + l) * 4;
                put(buf, at, d.bid_p);
                put(buf, at + 1, d.bid_q);
                put(buf, at + 2, d.ask_p);
                put(buf, at + 3, d.ask_q);
            }
        }
        Ok(())
    })?;
    PyTuple::new(
        py,
        [
            keys.into_any(),
            ints.into_any(),
            depth.into_any(),
            levels.into_pyobject(py)?.into_any(),
            PyList::new(py, rejected)?.into_any(),
        ],
    )
}

pub(crate) fn varint(out: &mut Vec<u8>, v: u64) {
    let mut v = v;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// An int64 (or sign-extended enum) field with implicit presence: omitted when 0.
pub(crate) fn int_field(out: &mut Vec<u8>, tag: &[u8], v: i64) {
    if v != 0 {
        out.extend_from_slice(tag);
        varint(out, v as u64);
    }
}

/// A double field with implicit presence: omitted only when all 64 bits are zero (upb).
fn double_field(out: &mut Vec<u8>, tag: &[u8], v: f64) {
    let bits = v.to_bits();
    if bits != 0 {
        out.extend_from_slice(tag);
        out.extend_from_slice(&bits.to_le_bytes());
    }
}

/// Tags (field number << 3 | wire type) of the int64 columns, in `ENRICHED_INTS` order:
/// ts_event 2, ts_init 3, ltp_paise 4, volume_traded_today 5, spread_paise 11,
/// aggressor 14, trade_quantity 15, buy_volume 16, sell_volume 17.
const INT_TAGS: [&[u8]; ENRICHED_INTS] = [
    &[0x10],
    &[0x18],
    &[0x20],
    &[0x28],
    &[0x58],
    &[0x70],
    &[0x78],
    &[0x80, 0x01],
    &[0x88, 0x01],
];
/// Tags of the double columns, in `ENRICHED_FLOATS` order: session_vwap 6,
/// rolling_vwap 7, imbalance_l1 8, imbalance_d5 9, imbalance_d30 10, spread_bps 12,
/// microprice 13, trade_intensity 18, iv 20, delta 21, gamma 22, theta 23, vega 24.
const FLOAT_TAGS: [&[u8]; ENRICHED_FLOATS] = [
    &[0x31],
    &[0x39],
    &[0x41],
    &[0x49],
    &[0x51],
    &[0x61],
    &[0x69],
    &[0x91, 0x01],
    &[0xa1, 0x01],
    &[0xa9, 0x01],
    &[0xb1, 0x01],
    &[0xb9, 0x01],
    &[0xc1, 0x01],
];
const TS_ENRICHED_TAG: &[u8] = &[0x98, 0x01]; // field 19, varint

/// One `EnrichedTick` row: every field in number order.
fn encode_row(
    out: &mut Vec<u8>,
    key: &str,
    ints: &[i64; ENRICHED_INTS],
    floats: &[f64; ENRICHED_FLOATS],
    ts_enriched: i64,
) {
    out.clear();
    if !key.is_empty() {
        out.push(0x0a); // field 1, length-delimited
        varint(out, key.len() as u64);
        out.extend_from_slice(key.as_bytes());
    }
    for k in 0..4 {
        int_field(out, INT_TAGS[k], ints[k]); // fields 2..=5
    }
    for k in 0..5 {
        double_field(out, FLOAT_TAGS[k], floats[k]); // fields 6..=10
    }
    int_field(out, INT_TAGS[4], ints[4]); // 11 spread
    double_field(out, FLOAT_TAGS[5], floats[5]); // 12 spread_bps
    double_field(out, FLOAT_TAGS[6], floats[6]); // 13 microprice
                                                 // 14 aggressor: an enum is an int32 on the wire (negative values sign-extended)
    int_field(out, INT_TAGS[5], i64::from(ints[5] as i32));
    for k in 6..9 {
        int_field(out, INT_TAGS[k], ints[k]); // fields 15..=17
    }
    double_field(out, FLOAT_TAGS[7], floats[7]); // 18 trade_intensity
    int_field(out, TS_ENRICHED_TAG, ts_enriched); // 19
    for k in 8..13 {
        double_field(out, FLOAT_TAGS[k], floats[k]); // fields 20..=24
    }
}

fn column<'a, T: pyo3::buffer::Element>(
    py: Python<'a>,
    buf: &'a PyBuffer<T>,
    what: &str,
) -> PyResult<&'a [pyo3::buffer::ReadOnlyCell<T>]> {
    if buf.dimensions() != 1 {
        return Err(PyValueError::new_err(format!(
            "{what} column must be one-dimensional"
        )));
    }
    buf.as_slice(py)
        .ok_or_else(|| PyValueError::new_err(format!("{what} column is not contiguous")))
}

/// Encode `EnrichedTick` messages from columns; one `bytes` per row, in order.
///
/// `ints` are 9 int64 buffers (ts_event, ts_init, ltp_paise, volume_traded_today,
/// spread_paise, aggressor wire value, trade_quantity, buy_volume, sell_volume) and
/// `floats` 13 float64 buffers (session_vwap, rolling_vwap, imbalance_l1, imbalance_d5,
/// imbalance_d30, spread_bps, microprice, trade_intensity, iv, delta, gamma, theta, vega),
/// each one-dimensional and C-contiguous (`BufferError` / `ValueError` otherwise). The
/// rows are as many as the shortest of `keys` and the columns (as `zip` would pair them).
/// The bytes equal upb's `SerializeToString`.
#[pyfunction]
#[pyo3(signature = (keys, ints, floats, ts_enriched))]
pub fn encode_enriched_columns<'py>(
    py: Python<'py>,
    keys: &Bound<'py, PyList>,
    ints: Vec<PyBuffer<i64>>,
    floats: Vec<PyBuffer<f64>>,
    ts_enriched: i64,
) -> PyResult<Bound<'py, PyList>> {
    if ints.len() != ENRICHED_INTS || floats.len() != ENRICHED_FLOATS {
        return Err(PyValueError::new_err(format!(
            "expected {ENRICHED_INTS} int64 and {ENRICHED_FLOATS} float64 columns"
        )));
    }
    let int_cols = ints
        .iter()
        .map(|b| column(py, b, "int64"))
        .collect::<PyResult<Vec<_>>>()?;
    let float_cols = floats
        .iter()
        .map(|b| column(py, b, "float64"))
        .collect::<PyResult<Vec<_>>>()?;
    let n = int_cols
        .iter()
        .map(|c| c.len())
        .chain(float_cols.iter().map(|c| c.len()))
        .fold(keys.len(), usize::min);
    let mut out = Vec::with_capacity(n);
    let mut scratch: Vec<u8> = Vec::with_capacity(256);
    let mut row_i = [0i64; ENRICHED_INTS];
    let mut row_f = [0f64; ENRICHED_FLOATS];
    for (i, key) in keys.iter().take(n).enumerate() {
        let key = key.downcast::<PyString>()?;
        for (slot, col) in row_i.iter_mut().zip(&int_cols) {
            *slot = col[i].get();
        }
        for (slot, col) in row_f.iter_mut().zip(&float_cols) {
            *slot = col[i].get();
        }
        encode_row(&mut scratch, key.to_str()?, &row_i, &row_f, ts_enriched);
        out.push(PyBytes::new(py, &scratch));
    }
    PyList::new(py, out)
}
