//! Hand-rolled reader for `quant.marketdata.v1.Tick` (the bus's tick message).
//!
//! Used by `lib.rs`'s `decode_ticks` and `columns.rs`'s `decode_tick_columns`, which
//! `quant.bus.codec_marketdata` calls on the feature service's hot path. Protobuf
//! semantics for well-formed input: unknown fields are skipped, a later scalar occurrence
//! wins, repeated submessages append, strings must be UTF-8. Anything the Python (upb)
//! decoder might treat differently (a known field with an unexpected wire type, malformed
//! bytes) is a `WireError`; the Python caller then decodes that message with upb, so
//! results and errors stay identical.

use crate::wire::{err, Reader, LEN, R, VARINT};

#[derive(Default, Clone, Copy)]
pub struct Level {
    pub bid_p: i64,
    pub bid_q: i64,
    pub ask_p: i64,
    pub ask_q: i64,
}

#[derive(Default, Clone, Copy)]
pub struct Bar<'a> {
    pub interval: &'a str,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: i64,
    pub ts_ns: i64,
}

/// `Tick` fields 1..=15 in wire order; `scalars[i]` is field `i + 3` (ts_event..tsq).
#[derive(Default)]
pub struct BusTick<'a> {
    pub key: &'a str,
    pub mode: i64,
    pub scalars: [i64; 11],
    pub depth: Vec<Level>,
    pub ohlc: Vec<Bar<'a>>,
}

fn mismatch<T>(field: u32) -> R<T> {
    err(&format!("field {field} has an unexpected wire type"), 0)
}

fn parse_level(mut r: Reader<'_>) -> R<Level> {
    let mut m = Level::default();
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, VARINT) => m.bid_p = r.varint()? as i64,
            (2, VARINT) => m.bid_q = r.varint()? as i64,
            (3, VARINT) => m.ask_p = r.varint()? as i64,
            (4, VARINT) => m.ask_q = r.varint()? as i64,
            (1..=4, _) => return mismatch(f),
            _ => r.skip(f, wt, 1)?,
        }
    }
    Ok(m)
}

fn parse_bar(mut r: Reader<'_>) -> R<Bar<'_>> {
    let mut m = Bar::default();
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => m.interval = r.string()?,
            (2, VARINT) => m.open = r.varint()? as i64,
            (3, VARINT) => m.high = r.varint()? as i64,
            (4, VARINT) => m.low = r.varint()? as i64,
            (5, VARINT) => m.close = r.varint()? as i64,
            (6, VARINT) => m.volume = r.varint()? as i64,
            (7, VARINT) => m.ts_ns = r.varint()? as i64,
            (1..=7, _) => return mismatch(f),
            _ => r.skip(f, wt, 1)?,
        }
    }
    Ok(m)
}

pub fn parse_tick(data: &[u8]) -> R<BusTick<'_>> {
    let mut m = BusTick::default();
    parse_tick_into(data, &mut m)?;
    Ok(m)
}

/// `parse_tick` into `m`, reusing its depth and OHLC vectors (a batch decoder parses every
/// message into one `BusTick`). Every field is reset first; on error `m` is unspecified.
pub fn parse_tick_into<'a>(data: &'a [u8], m: &mut BusTick<'a>) -> R<()> {
    m.key = "";
    m.mode = 0;
    m.scalars = [0; 11];
    m.depth.clear();
    m.ohlc.clear();
    let mut r = Reader::new(data, 0);
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => m.key = r.string()?,
            // an open enum is an int32 on the wire: upb truncates the varint
            (2, VARINT) => m.mode = i64::from(r.varint()? as i32),
            (3..=13, VARINT) => m.scalars[(f - 3) as usize] = r.varint()? as i64,
            (14, LEN) => m.depth.push(parse_level(r.bytes()?)?),
            (15, LEN) => m.ohlc.push(parse_bar(r.bytes()?)?),
            (1..=15, _) => return mismatch(f),
            _ => r.skip(f, wt, 0)?,
        }
    }
    Ok(())
}
