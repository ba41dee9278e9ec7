//! Domain tuples into columns: a batch of `Tick` tuples into int64 column buffers for the
//! tick store, with no Python object made per cell.
//!
//! Called by `quant.store.questdb_ticks.frame` for the `ticks` table, which wraps the
//! buffer as a numpy matrix without copying. A row that is not a `Tick`-shaped tuple of
//! ints (a float, `None`, a short tuple) raises, and the caller falls back to its
//! Python path, which reports the bad value its own way.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyList, PyString, PyTuple};

use crate::columns::put;

/// `Tick` field indexes copied as int64, in buffer-row order: mode, ts_event, ts_init,
/// ltp, ltt_ns, ltq, close_price, volume, atp, oi, total buy qty, total sell qty.
const INT_FIELDS: [usize; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
/// The `depth` field: its first level fills the last four buffer rows.
const DEPTH_FIELD: usize = 13;
/// Fields of a `Tick`.
const TICK_FIELDS: usize = 15;

/// Row `i` of a batch as a `Tick`-shaped tuple (15 fields), or a `ValueError` saying why not.
pub(crate) fn tick_tuple<'a, 'py>(
    row: &'a Bound<'py, PyAny>,
    i: usize,
) -> PyResult<&'a Bound<'py, PyTuple>> {
    let t = row.downcast::<PyTuple>()?;
    if t.len() != TICK_FIELDS {
        return Err(PyValueError::new_err(format!(
            "row {i}: a Tick has {TICK_FIELDS} fields, got {}",
            t.len()
        )));
    }
    Ok(t)
}
/// Buffer rows: the int fields, then best bid price, bid qty, ask price, ask qty.
const ROWS: usize = INT_FIELDS.len() + 4;

/// Transpose `Tick` tuples into `(keys, ints)`: `keys` the instrument keys (the same
/// `str` objects), `ints` a `bytearray` holding a row-major `(16, len(rows))` int64
/// matrix (rows as in `INT_FIELDS`, then the first depth level; zeros without depth).
#[pyfunction]
pub fn tick_rows_to_columns<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyList>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyByteArray>)> {
    let n = rows.len();
    let mut buf = vec![0u8; ROWS * n * 8];
    let mut keys = Vec::with_capacity(n);
    for (i, row) in rows.iter().enumerate() {
        let t = tick_tuple(&row, i)?;
        let key = t.get_item(0)?;
        key.downcast::<PyString>()?;
        keys.push(key);
        for (r, &f) in INT_FIELDS.iter().enumerate() {
            put(&mut buf, r * n + i, t.get_item(f)?.extract::<i64>()?);
        }
        let depth = t.get_item(DEPTH_FIELD)?;
        if depth.len()? > 0 {
            let best = depth.get_item(0)?;
            for j in 0..4 {
                put(
                    &mut buf,
                    (INT_FIELDS.len() + j) * n + i,
                    best.get_item(j)?.extract::<i64>()?,
                );
            }
        }
    }
    Ok((PyList::new(py, keys)?, PyByteArray::new(py, &buf)))
}
