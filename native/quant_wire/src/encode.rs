//! `Tick` tuples encoded as `quant.marketdata.v1.Tick` messages, a batch per call.
//!
//! Called by `quant.bus.codec_marketdata.encode_ticks` (the ingestor publishes every
//! tick of a feed frame through it). The bytes are protobuf's canonical form as upb
//! writes it (fields in number order, proto3 defaults omitted; a repeated message is
//! written even when empty), so they equal `encode_tick`'s, which stays the reference
//! in the differential tests. A row that is not a `Tick`-shaped tuple of ints and strs
//! raises, and the caller falls back to the Python encoder for the whole batch.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::columns::{int_field, varint};

/// Fields of a `Tick`.
const TICK_FIELDS: usize = 15;

/// Row `i` of a batch as a `Tick`-shaped tuple (15 fields), or a `ValueError` saying why not.
fn tick_tuple<'a, 'py>(
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

/// Tuple index 2..=12 (ts_event .. total_sell_quantity) is message field index + 1:
/// varint tags of fields 3..=13.
const INT_TAGS: [u8; 11] = [
    0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50, 0x58, 0x60, 0x68,
];
/// Varint tags of a sub-message's fields 1..=7 (DepthLevel uses 1..=4, FeedOhlc 2..=7).
const SUB_TAGS: [u8; 7] = [0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38];

fn string_field(out: &mut Vec<u8>, tag: u8, s: &str) {
    if !s.is_empty() {
        out.push(tag);
        varint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
}

/// A length-delimited sub-message (`tag`) whose body is `body`.
fn message_field(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn encode_tick(out: &mut Vec<u8>, sub: &mut Vec<u8>, t: &Bound<'_, PyTuple>) -> PyResult<()> {
    out.clear();
    let key = t.get_item(0)?;
    string_field(out, 0x0a, key.downcast::<PyString>()?.to_str()?);
    // field 2, the mode: an enum is an int32 on the wire (negative values sign-extended)
    let mode: i64 = t.get_item(1)?.extract()?;
    int_field(out, &[0x10], i64::from(mode as i32));
    for (k, tag) in INT_TAGS.iter().enumerate() {
        int_field(out, &[*tag], t.get_item(k + 2)?.extract::<i64>()?);
    }
    for level in t.get_item(13)?.try_iter()? {
        let level = level?;
        let level = level.downcast::<PyTuple>()?;
        sub.clear();
        for j in 0..4 {
            int_field(sub, &[SUB_TAGS[j]], level.get_item(j)?.extract::<i64>()?);
        }
        message_field(out, 0x72, sub); // field 14
    }
    for bar in t.get_item(14)?.try_iter()? {
        let bar = bar?;
        let bar = bar.downcast::<PyTuple>()?;
        sub.clear();
        let interval = bar.get_item(0)?;
        string_field(sub, 0x0a, interval.downcast::<PyString>()?.to_str()?);
        for j in 1..7 {
            int_field(sub, &[SUB_TAGS[j]], bar.get_item(j)?.extract::<i64>()?);
        }
        message_field(out, 0x7a, sub); // field 15
    }
    Ok(())
}

/// Encode `Tick` tuples as `quant.marketdata.v1.Tick` messages: one `bytes` per row.
#[pyfunction]
pub fn encode_ticks<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut scratch: Vec<u8> = Vec::with_capacity(512);
    let mut sub: Vec<u8> = Vec::with_capacity(64);
    for (i, row) in rows.iter().enumerate() {
        encode_tick(&mut scratch, &mut sub, tick_tuple(&row, i)?)?;
        out.push(PyBytes::new(py, &scratch));
    }
    PyList::new(py, out)
}
