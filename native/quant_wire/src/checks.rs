//! The tick checks of `quant.upstox.checks`, rule for rule, on parsed feed entries.
//!
//! `lib.rs`'s `decode_frame` asks `reason` (and `greeks_ok`) for every feed entry before
//! building its tuples when the caller passes bounds; the Python decoder in
//! `quant.upstox.wire` applies the same rules in the same order, so both accept the same
//! ticks and name the same reason for each rejected one. Pure Rust, no Python objects
//! (the known-key rule needs the caller's Python collection and lives in `lib.rs`).

use crate::wire::{Feed, Full, Greeks, Ltpc, Ohlc, Payload, Quote};

/// What one frame is checked against (`TickBounds.as_native()`, minus the known keys).
pub struct Bounds {
    pub max_price_paise: i64,
    pub max_quantity: i64,
    pub ts_lo_ms: i64,
    pub ts_hi_ms: i64,
    pub ltt_lo_ms: i64,
}

/// Rule 3 for one price in rupees: `None` when accepted.
fn price(x: f64, lim: f64, required: bool) -> Option<&'static str> {
    if !x.is_finite() {
        return Some("price");
    }
    let p = x * 100.0 + 0.5;
    let low = if required { p < 1.0 } else { x < 0.0 };
    if low {
        return Some("price");
    }
    if p >= lim {
        return Some("price_band");
    }
    None
}

/// The parts of one feed entry the rules look at, whatever its kind (no allocation).
struct View<'f, 'a> {
    lt: Ltpc,
    atp: f64,
    ints: &'f [i64],
    floats: [f64; 3],
    n_floats: usize,
    levels: &'f [Quote],
    bars: &'f [Ohlc<'a>],
}

fn view<'f, 'a>(feed: &'f Feed<'a>) -> Option<View<'f, 'a>> {
    let none = View {
        lt: Ltpc::default(),
        atp: 0.0,
        ints: &[],
        floats: [0.0; 3],
        n_floats: 0,
        levels: &[],
        bars: &[],
    };
    Some(match &feed.payload {
        Payload::Unset => return None,
        Payload::Ltpc(lt) => View { lt: *lt, ..none },
        Payload::FirstLevel(fl) => View {
            lt: fl.ltpc,
            ints: std::slice::from_ref(&fl.vtt),
            floats: [fl.oi, 0.0, 0.0],
            n_floats: 1,
            levels: std::slice::from_ref(&fl.depth),
            ..none
        },
        Payload::Full(Full::Market(m)) => View {
            lt: m.ltpc,
            atp: m.atp,
            ints: std::slice::from_ref(&m.vtt),
            floats: [m.oi, m.tbq, m.tsq],
            n_floats: 3,
            levels: &m.quotes,
            bars: &m.ohlc,
        },
        Payload::Full(Full::Index(ix)) => View {
            lt: ix.ltpc,
            bars: &ix.ohlc,
            ..none
        },
        Payload::Full(Full::Unset) => none,
    })
}

/// The first rule (2-4) that `feed` breaks in a frame of `ts_ms`, or `None`.
pub fn reason(feed: &Feed<'_>, ts_ms: i64, b: &Bounds) -> Option<&'static str> {
    let v = view(feed)?;
    let hi = b.ts_hi_ms;
    let in_ltt_window = |t: i64| t == 0 || (b.ltt_lo_ms <= t && t <= hi);
    if !(b.ts_lo_ms..=hi).contains(&ts_ms) || !in_ltt_window(v.lt.ltt) {
        return Some("timestamp");
    }
    if v.bars.iter().any(|c| !in_ltt_window(c.ts)) {
        return Some("timestamp");
    }
    // max_price_paise + 1 is exact as a double (the Python side bounds it to 10^14).
    let lim = (b.max_price_paise as f64) + 1.0;
    if let Some(r) = price(v.lt.ltp, lim, true) {
        return Some(r);
    }
    let optional = [v.lt.cp, v.atp]
        .into_iter()
        .chain(v.levels.iter().flat_map(|q| [q.bid_p, q.ask_p]))
        .chain(v.bars.iter().flat_map(|c| [c.open, c.high, c.low, c.close]));
    for x in optional {
        if let Some(r) = price(x, lim, false) {
            return Some(r);
        }
    }
    let qmax = b.max_quantity;
    let qlim = (qmax as f64) + 1.0;
    let int_ok = |q: i64| (0..=qmax).contains(&q);
    let ints_ok = int_ok(v.lt.ltq)
        && v.ints.iter().all(|&q| int_ok(q))
        && v.levels.iter().all(|q| int_ok(q.bid_q) && int_ok(q.ask_q))
        && v.bars.iter().all(|c| int_ok(c.vol));
    let floats_ok = v.floats[..v.n_floats].iter().all(|&x| 0.0 <= x && x < qlim);
    if !(ints_ok && floats_ok) {
        return Some("quantity");
    }
    None
}

/// Rule 5: `iv` and every greek finite.
pub fn greeks_ok(iv: f64, g: &Greeks) -> bool {
    [iv, g.delta, g.gamma, g.theta, g.vega, g.rho]
        .iter()
        .all(|x| x.is_finite())
}
