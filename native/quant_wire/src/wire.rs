//! Hand-rolled protobuf wire reader for the Upstox V3 `FeedResponse` schema.
//!
//! Parses one frame into borrowed Rust structs with protobuf semantics: unknown fields
//! (and known fields with an unexpected wire type) are skipped, repeated submessage
//! occurrences merge, a later oneof member replaces an earlier one, a later map entry
//! with the same key replaces the earlier one, proto3 strings must be UTF-8. Malformed
//! input (truncated varint, length past end, bad wire type, field number 0, unbalanced
//! group) is a `WireError`, never a panic. Used by `lib.rs` only.

use std::collections::HashMap;
use std::fmt;

#[derive(Debug)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) type R<T> = Result<T, WireError>;

pub(crate) fn err<T>(msg: &str, at: usize) -> R<T> {
    Err(WireError(format!("{msg} at byte {at}")))
}

pub(crate) const VARINT: u32 = 0;
const FIXED64: u32 = 1;
pub(crate) const LEN: u32 = 2;
const SGROUP: u32 = 3;
const EGROUP: u32 = 4;
const FIXED32: u32 = 5;
const MAX_DEPTH: u32 = 100; // upb's default recursion limit (messages + groups)

/// A cursor over one message's bytes; `base` is its offset in the frame (for errors).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn varint(&mut self) -> R<u64> {
        let mut result: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return err("truncated varint", self.at());
            };
            self.pos += 1;
            result |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        err("varint longer than 10 bytes", self.at())
    }

    fn fixed64(&mut self) -> R<u64> {
        match self.buf.get(self.pos..self.pos + 8) {
            Some(s) => {
                self.pos += 8;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                Ok(u64::from_le_bytes(a))
            }
            None => err("truncated fixed64", self.at()),
        }
    }

    fn double(&mut self) -> R<f64> {
        Ok(f64::from_bits(self.fixed64()?))
    }

    /// A length-delimited payload as a sub-reader.
    pub(crate) fn bytes(&mut self) -> R<Reader<'a>> {
        let start = self.at();
        let n = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if n > remaining {
            return err("length-delimited field runs past the end", start);
        }
        let n = n as usize;
        let sub = Reader::new(&self.buf[self.pos..self.pos + n], self.base + self.pos);
        self.pos += n;
        Ok(sub)
    }

    pub(crate) fn string(&mut self) -> R<&'a str> {
        let sub = self.bytes()?;
        match std::str::from_utf8(sub.buf) {
            Ok(s) => Ok(s),
            Err(_) => err("string field is not valid UTF-8", sub.base),
        }
    }

    /// The next (field number, wire type), or None at the end of the message.
    pub(crate) fn tag(&mut self) -> R<Option<(u32, u32)>> {
        if self.done() {
            return Ok(None);
        }
        let start = self.at();
        let t = self.varint()?;
        if t > u64::from(u32::MAX) {
            return err("tag does not fit 32 bits", start);
        }
        let field = (t >> 3) as u32;
        let wt = (t & 7) as u32;
        if field == 0 {
            return err("field number 0", start);
        }
        if wt == EGROUP {
            return err("unexpected end-group", start);
        }
        if wt > FIXED32 {
            return err(&format!("invalid wire type {wt}"), start);
        }
        Ok(Some((field, wt)))
    }

    /// Skip one field's value of wire type `wt` (groups up to their end-group tag).
    pub(crate) fn skip(&mut self, field: u32, wt: u32, depth: u32) -> R<()> {
        match wt {
            VARINT => {
                self.varint()?;
            }
            FIXED64 => {
                self.fixed64()?;
            }
            LEN => {
                self.bytes()?;
            }
            FIXED32 => {
                if self.pos + 4 > self.buf.len() {
                    return err("truncated fixed32", self.at());
                }
                self.pos += 4;
            }
            SGROUP => {
                if depth >= MAX_DEPTH {
                    return err("groups nested too deeply", self.at());
                }
                loop {
                    if self.done() {
                        return err("unterminated group", self.at());
                    }
                    let start = self.at();
                    let t = self.varint()?;
                    if t > u64::from(u32::MAX) {
                        return err("tag does not fit 32 bits", start);
                    }
                    let (f, w) = ((t >> 3) as u32, (t & 7) as u32);
                    if f == 0 {
                        return err("field number 0", start);
                    }
                    if w == EGROUP {
                        if f != field {
                            return err("mismatched end-group", start);
                        }
                        return Ok(());
                    }
                    if w > FIXED32 {
                        return err(&format!("invalid wire type {w}"), start);
                    }
                    self.skip(f, w, depth + 1)?;
                }
            }
            _ => return err(&format!("invalid wire type {wt}"), self.at()),
        }
        Ok(())
    }
}

#[derive(Default, Clone, Copy)]
pub struct Ltpc {
    pub ltp: f64,
    pub ltt: i64,
    pub ltq: i64,
    pub cp: f64,
}

#[derive(Default, Clone, Copy)]
pub struct Quote {
    pub bid_q: i64,
    pub bid_p: f64,
    pub ask_q: i64,
    pub ask_p: f64,
}

#[derive(Default, Clone, Copy)]
pub struct Greeks {
    pub delta: f64,
    pub theta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub rho: f64,
}

#[derive(Default, Clone, Copy)]
pub struct Ohlc<'a> {
    pub interval: &'a str,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub vol: i64,
    pub ts: i64,
}

#[derive(Default)]
pub struct MarketFull<'a> {
    pub ltpc: Ltpc,
    pub quotes: Vec<Quote>,
    pub greeks: Option<Greeks>,
    pub ohlc: Vec<Ohlc<'a>>,
    pub atp: f64,
    pub vtt: i64,
    pub oi: f64,
    pub iv: f64,
    pub tbq: f64,
    pub tsq: f64,
}

#[derive(Default)]
pub struct IndexFull<'a> {
    pub ltpc: Ltpc,
    pub ohlc: Vec<Ohlc<'a>>,
}

#[derive(Default)]
pub struct FirstLevel {
    pub ltpc: Ltpc,
    pub depth: Quote,
    pub greeks: Greeks,
    pub vtt: i64,
    pub oi: f64,
    pub iv: f64,
}

/// `FullFeed`'s oneof; `Unset` decodes like an empty index feed (as upb's defaults do).
#[derive(Default)]
pub enum Full<'a> {
    #[default]
    Unset,
    Market(MarketFull<'a>),
    Index(IndexFull<'a>),
}

#[derive(Default)]
pub enum Payload<'a> {
    #[default]
    Unset,
    Ltpc(Ltpc),
    Full(Full<'a>),
    FirstLevel(FirstLevel),
}

#[derive(Default)]
pub struct Feed<'a> {
    pub payload: Payload<'a>,
    pub request_mode: i32,
}

pub struct Frame<'a> {
    pub kind: i32,
    pub current_ts: i64,
    pub feeds: Vec<(&'a str, Feed<'a>)>,
    pub segment_status: Vec<(&'a str, i32)>,
}

fn parse_ltpc(mut r: Reader<'_>, m: &mut Ltpc, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, FIXED64) => m.ltp = r.double()?,
            (2, VARINT) => m.ltt = r.varint()? as i64,
            (3, VARINT) => m.ltq = r.varint()? as i64,
            (4, FIXED64) => m.cp = r.double()?,
            (5, LEN) => parse_double_value(r.bytes()?, depth + 1)?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

/// `google.protobuf.DoubleValue` (LTPC.iep): validated, its value is not used.
fn parse_double_value(mut r: Reader<'_>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, FIXED64) => {
                r.double()?;
            }
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_quote(mut r: Reader<'_>, m: &mut Quote, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, VARINT) => m.bid_q = r.varint()? as i64,
            (2, FIXED64) => m.bid_p = r.double()?,
            (3, VARINT) => m.ask_q = r.varint()? as i64,
            (4, FIXED64) => m.ask_p = r.double()?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_greeks(mut r: Reader<'_>, m: &mut Greeks, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, FIXED64) => m.delta = r.double()?,
            (2, FIXED64) => m.theta = r.double()?,
            (3, FIXED64) => m.gamma = r.double()?,
            (4, FIXED64) => m.vega = r.double()?,
            (5, FIXED64) => m.rho = r.double()?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_ohlc<'a>(mut r: Reader<'a>, depth: u32) -> R<Ohlc<'a>> {
    let mut m = Ohlc::default();
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => m.interval = r.string()?,
            (2, FIXED64) => m.open = r.double()?,
            (3, FIXED64) => m.high = r.double()?,
            (4, FIXED64) => m.low = r.double()?,
            (5, FIXED64) => m.close = r.double()?,
            (6, VARINT) => m.vol = r.varint()? as i64,
            (7, VARINT) => m.ts = r.varint()? as i64,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(m)
}

/// `MarketOHLC` (repeated OHLC = 1), appended to `out` (occurrences concatenate).
fn parse_market_ohlc<'a>(mut r: Reader<'a>, out: &mut Vec<Ohlc<'a>>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => out.push(parse_ohlc(r.bytes()?, depth + 1)?),
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

/// `MarketLevel` (repeated Quote = 1), appended to `out`.
fn parse_market_level(mut r: Reader<'_>, out: &mut Vec<Quote>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => {
                let mut q = Quote::default();
                parse_quote(r.bytes()?, &mut q, depth + 1)?;
                out.push(q);
            }
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_market_full<'a>(mut r: Reader<'a>, m: &mut MarketFull<'a>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => parse_ltpc(r.bytes()?, &mut m.ltpc, depth + 1)?,
            (2, LEN) => parse_market_level(r.bytes()?, &mut m.quotes, depth + 1)?,
            (3, LEN) => {
                let g = m.greeks.get_or_insert_with(Greeks::default);
                parse_greeks(r.bytes()?, g, depth + 1)?;
            }
            (4, LEN) => parse_market_ohlc(r.bytes()?, &mut m.ohlc, depth + 1)?,
            (5, FIXED64) => m.atp = r.double()?,
            (6, VARINT) => m.vtt = r.varint()? as i64,
            (7, FIXED64) => m.oi = r.double()?,
            (8, FIXED64) => m.iv = r.double()?,
            (9, FIXED64) => m.tbq = r.double()?,
            (10, FIXED64) => m.tsq = r.double()?,
            // iep, rp (double), ieq, iiqTotal, iiqM (int64), casEligible (bool): unused.
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_index_full<'a>(mut r: Reader<'a>, m: &mut IndexFull<'a>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => parse_ltpc(r.bytes()?, &mut m.ltpc, depth + 1)?,
            (2, LEN) => parse_market_ohlc(r.bytes()?, &mut m.ohlc, depth + 1)?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_full<'a>(mut r: Reader<'a>, m: &mut Full<'a>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => {
                if !matches!(m, Full::Market(_)) {
                    *m = Full::Market(MarketFull::default());
                }
                if let Full::Market(x) = m {
                    parse_market_full(r.bytes()?, x, depth + 1)?;
                }
            }
            (2, LEN) => {
                if !matches!(m, Full::Index(_)) {
                    *m = Full::Index(IndexFull::default());
                }
                if let Full::Index(x) = m {
                    parse_index_full(r.bytes()?, x, depth + 1)?;
                }
            }
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_first_level(mut r: Reader<'_>, m: &mut FirstLevel, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => parse_ltpc(r.bytes()?, &mut m.ltpc, depth + 1)?,
            (2, LEN) => parse_quote(r.bytes()?, &mut m.depth, depth + 1)?,
            (3, LEN) => parse_greeks(r.bytes()?, &mut m.greeks, depth + 1)?,
            (4, VARINT) => m.vtt = r.varint()? as i64,
            (5, FIXED64) => m.oi = r.double()?,
            (6, FIXED64) => m.iv = r.double()?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

fn parse_feed<'a>(mut r: Reader<'a>, m: &mut Feed<'a>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => {
                if !matches!(m.payload, Payload::Ltpc(_)) {
                    m.payload = Payload::Ltpc(Ltpc::default());
                }
                if let Payload::Ltpc(x) = &mut m.payload {
                    parse_ltpc(r.bytes()?, x, depth + 1)?;
                }
            }
            (2, LEN) => {
                if !matches!(m.payload, Payload::Full(_)) {
                    m.payload = Payload::Full(Full::default());
                }
                if let Payload::Full(x) = &mut m.payload {
                    parse_full(r.bytes()?, x, depth + 1)?;
                }
            }
            (3, LEN) => {
                if !matches!(m.payload, Payload::FirstLevel(_)) {
                    m.payload = Payload::FirstLevel(FirstLevel::default());
                }
                if let Payload::FirstLevel(x) = &mut m.payload {
                    parse_first_level(r.bytes()?, x, depth + 1)?;
                }
            }
            (4, VARINT) => m.request_mode = r.varint()? as i32,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

/// One `map<string, Feed>` entry: key = 1, value = 2 (value occurrences merge). Like
/// upb, an entry holding an unknown field is not a map entry at all (None).
fn parse_feed_entry<'a>(mut r: Reader<'a>, depth: u32) -> R<Option<(&'a str, Feed<'a>)>> {
    let mut key = "";
    let mut feed = Feed::default();
    let mut unknown = false;
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => key = r.string()?,
            (2, LEN) => parse_feed(r.bytes()?, &mut feed, depth + 1)?,
            _ => {
                r.skip(f, wt, depth)?;
                unknown = true;
            }
        }
    }
    Ok((!unknown).then_some((key, feed)))
}

fn parse_status_info(mut r: Reader<'_>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => {
                r.string()?;
            }
            (2, VARINT) => {
                r.varint()?;
            }
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

/// A `map<string, StatusInfo>` entry: validated only.
fn parse_status_entry(mut r: Reader<'_>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => {
                r.string()?;
            }
            (2, LEN) => parse_status_info(r.bytes()?, depth + 1)?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

/// A `map<string, MarketStatus>` entry (None if it holds an unknown field, as in upb).
fn parse_segment_entry<'a>(mut r: Reader<'a>, depth: u32) -> R<Option<(&'a str, i32)>> {
    let mut key = "";
    let mut value = 0i32;
    let mut unknown = false;
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => key = r.string()?,
            (2, VARINT) => value = r.varint()? as i32,
            _ => {
                r.skip(f, wt, depth)?;
                unknown = true;
            }
        }
    }
    Ok((!unknown).then_some((key, value)))
}

fn parse_market_info<'a>(mut r: Reader<'a>, out: &mut Vec<(&'a str, i32)>, depth: u32) -> R<()> {
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, LEN) => out.extend(parse_segment_entry(r.bytes()?, depth + 1)?),
            (2, LEN) | (3, LEN) => parse_status_entry(r.bytes()?, depth + 1)?,
            _ => r.skip(f, wt, depth)?,
        }
    }
    Ok(())
}

/// Keep only the last occurrence of each key (map semantics), at its own position.
fn dedup_last<K: std::hash::Hash + Eq + Copy, V>(items: &mut Vec<(K, V)>) {
    if items.len() < 2 {
        return;
    }
    let mut last: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut dup = false;
    for (i, (k, _)) in items.iter().enumerate() {
        if last.insert(*k, i).is_some() {
            dup = true;
        }
    }
    if !dup {
        return;
    }
    // `last` now maps each key to its LAST index: keep exactly those entries.
    let mut i = 0usize;
    items.retain(|(k, _)| {
        let keep = last.get(k) == Some(&i);
        i += 1;
        keep
    });
}

pub fn parse_frame(data: &[u8]) -> R<Frame<'_>> {
    let mut r = Reader::new(data, 0);
    let mut frame = Frame {
        kind: 0,
        current_ts: 0,
        feeds: Vec::new(),
        segment_status: Vec::new(),
    };
    while let Some((f, wt)) = r.tag()? {
        match (f, wt) {
            (1, VARINT) => frame.kind = r.varint()? as i32,
            (2, LEN) => frame.feeds.extend(parse_feed_entry(r.bytes()?, 1)?),
            (3, VARINT) => frame.current_ts = r.varint()? as i64,
            (4, LEN) => parse_market_info(r.bytes()?, &mut frame.segment_status, 1)?,
            _ => r.skip(f, wt, 0)?,
        }
    }
    dedup_last(&mut frame.feeds);
    dedup_last(&mut frame.segment_status);
    Ok(frame)
}
