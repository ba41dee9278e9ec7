//! `quant_wire`: native decoder of Upstox V3 feed frames into quant domain NamedTuples.
//!
//! Called by `quant.upstox.wire` (which falls back to its pure-Python decoder when this
//! extension is not installed). `decode_frame` parses the protobuf `FeedResponse` with the
//! hand-rolled reader in `wire.rs` and builds `Tick` / `DepthLevel` / `FeedOhlc` /
//! `OptionGreeks` tuples of the classes it is given, with exactly the Python decoder's
//! values: prices in paise rounded half away from zero (`int(x * 100 + 0.5)` mirrored for
//! negatives), ms timestamps as ns, missing fields as protobuf defaults. Given bounds, it
//! leaves out (and lists) the feed entries that break the checks of `checks.rs`. Malformed
//! input and (unchecked) non-finite prices raise `ValueError`; a Rust panic is caught and
//! raised as one too.
//! `decode_ticks` does the same for bus `Tick` messages (`marketdata.rs`); `columns.rs`
//! decodes those into column buffers and encodes `EnrichedTick`s from columns; `encode.rs`
//! encodes `Tick` tuples as bus messages.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple, PyType};

mod checks;
mod columns;
mod encode;
mod marketdata;
mod wire;

use wire::{Feed, Full, Greeks, Ltpc, Ohlc, Payload, Quote};

const NS_PER_MS: i64 = 1_000_000;
/// Doubles strictly inside ±2^63 convert to i64 exactly; larger ones go via PyLong.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// The classes and enum members a frame is built from, plus how to instantiate a tuple.
struct Ctx<'py> {
    py: Python<'py>,
    tick: *mut ffi::PyTypeObject,
    depth: *mut ffi::PyTypeObject,
    ohlc: *mut ffi::PyTypeObject,
    greeks: *mut ffi::PyTypeObject,
    modes: [Bound<'py, PyAny>; 4],
    tuple_new: ffi::newfunc,
    /// Fill a `tp_alloc`ed instance in place (what `tuple.__new__(cls, t)` does before
    /// CPython 3.14, which added a per-tuple hash cache that only the runtime may set).
    direct: bool,
    ts_event: Bound<'py, PyAny>,
    ts_init: Bound<'py, PyAny>,
    zero: Bound<'py, PyAny>,
    empty: Bound<'py, PyAny>,
}

fn owned<'py>(py: Python<'py>, p: *mut ffi::PyObject) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `p` is a new reference or null with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, p) }
}

fn int_i64<'py>(py: Python<'py>, v: i64) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: plain constructor call with the GIL held.
    owned(py, unsafe { ffi::PyLong_FromLongLong(v) })
}

fn float<'py>(py: Python<'py>, v: f64) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: plain constructor call with the GIL held.
    owned(py, unsafe { ffi::PyFloat_FromDouble(v) })
}

/// Python's `int(r)` for an already integral double `r`.
fn int_f64<'py>(py: Python<'py>, r: f64, what: &str) -> PyResult<Bound<'py, PyAny>> {
    if !r.is_finite() {
        return Err(PyValueError::new_err(format!("{what} is not finite")));
    }
    if r > -I64_LIMIT && r < I64_LIMIT {
        int_i64(py, r as i64)
    } else {
        // SAFETY: plain constructor call with the GIL held; `r` is finite.
        owned(py, unsafe { ffi::PyLong_FromDouble(r) })
    }
}

/// Rupees (double) to paise exactly as `quant.core.money.to_paise`: half away from zero.
fn paise<'py>(py: Python<'py>, x: f64) -> PyResult<Bound<'py, PyAny>> {
    if x.is_nan() {
        return Err(PyValueError::new_err("price is NaN"));
    }
    let r = if x >= 0.0 {
        (x * 100.0 + 0.5).trunc()
    } else {
        -((-x * 100.0 + 0.5).trunc())
    };
    int_f64(py, r, "price")
}

/// `ms * 1_000_000` as a Python int (arbitrary precision like the Python decoder).
fn ms_to_ns<'py>(py: Python<'py>, ms: i64) -> PyResult<Bound<'py, PyAny>> {
    match ms.checked_mul(NS_PER_MS) {
        Some(v) => int_i64(py, v),
        None => int_i64(py, ms)?.mul(NS_PER_MS),
    }
}

impl<'py> Ctx<'py> {
    /// `tuple.__new__(cls, items)`: a NamedTuple instance without calling its `__new__`.
    fn make<const N: usize>(
        &self,
        cls: *mut ffi::PyTypeObject,
        items: [Bound<'py, PyAny>; N],
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.direct {
            // SAFETY: `cls` is a tuple subclass whose tp_alloc is PyType_GenericAlloc
            // (checked by `direct_alloc`): it returns a zeroed, sized tuple instance.
            let obj = owned(self.py, unsafe {
                ffi::PyType_GenericAlloc(cls, N as ffi::Py_ssize_t)
            })?;
            for (i, item) in items.into_iter().enumerate() {
                // SAFETY: `obj` is a fresh tuple (refcount 1); SetItem steals `item`.
                if unsafe {
                    ffi::PyTuple_SetItem(obj.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr())
                } != 0
                {
                    return Err(PyErr::fetch(self.py));
                }
            }
            return Ok(obj);
        }
        let inner = PyTuple::new(self.py, items)?;
        let args = PyTuple::new(self.py, [inner])?;
        // SAFETY: `tuple_new` is tuple's tp_new, `cls` a tuple subclass, `args` a tuple.
        owned(self.py, unsafe {
            (self.tuple_new)(cls, args.as_ptr(), std::ptr::null_mut())
        })
    }

    fn depth_level(&self, q: &Quote) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        self.make(
            self.depth,
            [
                paise(py, q.bid_p)?,
                int_i64(py, q.bid_q)?,
                paise(py, q.ask_p)?,
                int_i64(py, q.ask_q)?,
            ],
        )
    }

    fn ohlc_tuple(&self, bars: &[Ohlc<'_>]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        if bars.is_empty() {
            return Ok(self.empty.clone());
        }
        let mut out = Vec::with_capacity(bars.len());
        for c in bars {
            out.push(self.make(
                self.ohlc,
                [
                    PyString::new(py, c.interval).into_any(),
                    paise(py, c.open)?,
                    paise(py, c.high)?,
                    paise(py, c.low)?,
                    paise(py, c.close)?,
                    int_i64(py, c.vol)?,
                    ms_to_ns(py, c.ts)?,
                ],
            )?);
        }
        Ok(PyTuple::new(py, out)?.into_any())
    }

    #[allow(clippy::too_many_arguments)]
    fn tick(
        &self,
        key: &Bound<'py, PyAny>,
        mode: &Bound<'py, PyAny>,
        lt: &Ltpc,
        ltp: &Bound<'py, PyAny>,
        volume: Bound<'py, PyAny>,
        atp: Bound<'py, PyAny>,
        oi: Bound<'py, PyAny>,
        tbq: Bound<'py, PyAny>,
        tsq: Bound<'py, PyAny>,
        depth: Bound<'py, PyAny>,
        ohlc: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        self.make(
            self.tick,
            [
                key.clone(),
                mode.clone(),
                self.ts_event.clone(),
                self.ts_init.clone(),
                ltp.clone(),
                ms_to_ns(py, lt.ltt)?,
                int_i64(py, lt.ltq)?,
                paise(py, lt.cp)?,
                volume,
                atp,
                oi,
                tbq,
                tsq,
                depth,
                ohlc,
            ],
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn greeks_tuple(
        &self,
        key: &Bound<'py, PyAny>,
        ltp: &Bound<'py, PyAny>,
        iv: f64,
        g: &Greeks,
        oi: &Bound<'py, PyAny>,
        vtt: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        self.make(
            self.greeks,
            [
                key.clone(),
                self.ts_event.clone(),
                self.ts_init.clone(),
                ltp.clone(),
                float(py, iv)?,
                float(py, g.delta)?,
                float(py, g.gamma)?,
                float(py, g.theta)?,
                float(py, g.vega)?,
                float(py, g.rho)?,
                oi.clone(),
                vtt.clone(),
            ],
        )
    }

    /// Append `feed`'s tick (and greeks) to the lists. With `checked`, the tick has passed
    /// `checks::reason` and greeks that fail `checks::greeks_ok` go to `rejected` instead.
    fn feed(
        &self,
        key: &Bound<'py, PyAny>,
        feed: &Feed<'_>,
        ticks: &Bound<'py, PyList>,
        greeks: &Bound<'py, PyList>,
        checked: bool,
        rejected: &Bound<'py, PyList>,
    ) -> PyResult<()> {
        let py = self.py;
        let z = &self.zero;
        match &feed.payload {
            Payload::Unset => {}
            Payload::Ltpc(lt) => {
                let k = key.clone();
                let ltp = paise(py, lt.ltp)?;
                let e = self.empty.clone();
                let t = self.tick(
                    &k,
                    &self.modes[0],
                    lt,
                    &ltp,
                    z.clone(),
                    z.clone(),
                    z.clone(),
                    z.clone(),
                    z.clone(),
                    e.clone(),
                    e,
                )?;
                ticks.append(t)?;
            }
            Payload::Full(full) => {
                let k = key.clone();
                let mode = match feed.request_mode {
                    m @ 0..=3 => &self.modes[m as usize],
                    _ => &self.modes[1],
                };
                match full {
                    Full::Market(m) => {
                        let ltp = paise(py, m.ltpc.ltp)?;
                        let atp = paise(py, m.atp)?;
                        let mut levels = Vec::with_capacity(m.quotes.len());
                        for q in &m.quotes {
                            levels.push(self.depth_level(q)?);
                        }
                        let depth = PyTuple::new(py, levels)?.into_any();
                        let ohlc = self.ohlc_tuple(&m.ohlc)?;
                        let vtt = int_i64(py, m.vtt)?;
                        let oi = int_f64(py, m.oi.trunc(), "oi")?;
                        let tbq = int_f64(py, m.tbq.trunc(), "tbq")?;
                        let tsq = int_f64(py, m.tsq.trunc(), "tsq")?;
                        let t = self.tick(
                            &k,
                            mode,
                            &m.ltpc,
                            &ltp,
                            vtt.clone(),
                            atp,
                            oi.clone(),
                            tbq,
                            tsq,
                            depth,
                            ohlc,
                        )?;
                        ticks.append(t)?;
                        if let Some(g) = &m.greeks {
                            if !checked || checks::greeks_ok(m.iv, g) {
                                greeks.append(self.greeks_tuple(&k, &ltp, m.iv, g, &oi, &vtt)?)?;
                            } else {
                                rejected.append((key, "greeks"))?;
                            }
                        }
                    }
                    Full::Index(ix) => self.index(&k, mode, &ix.ltpc, &ix.ohlc, ticks)?,
                    Full::Unset => self.index(&k, mode, &Ltpc::default(), &[], ticks)?,
                }
            }
            Payload::FirstLevel(fl) => {
                let k = key.clone();
                let ltp = paise(py, fl.ltpc.ltp)?;
                let level = self.depth_level(&fl.depth)?;
                let vtt = int_i64(py, fl.vtt)?;
                let oi = int_f64(py, fl.oi.trunc(), "oi")?;
                let depth = PyTuple::new(py, [level])?.into_any();
                let t = self.tick(
                    &k,
                    &self.modes[2],
                    &fl.ltpc,
                    &ltp,
                    vtt.clone(),
                    z.clone(),
                    oi.clone(),
                    z.clone(),
                    z.clone(),
                    depth,
                    self.empty.clone(),
                )?;
                ticks.append(t)?;
                if !checked || checks::greeks_ok(fl.iv, &fl.greeks) {
                    greeks.append(self.greeks_tuple(&k, &ltp, fl.iv, &fl.greeks, &oi, &vtt)?)?;
                } else {
                    rejected.append((key, "greeks"))?;
                }
            }
        }
        Ok(())
    }

    fn index(
        &self,
        k: &Bound<'py, PyAny>,
        mode: &Bound<'py, PyAny>,
        lt: &Ltpc,
        bars: &[Ohlc<'_>],
        ticks: &Bound<'py, PyList>,
    ) -> PyResult<()> {
        let py = self.py;
        let z = &self.zero;
        let ltp = paise(py, lt.ltp)?;
        let ohlc = self.ohlc_tuple(bars)?;
        let t = self.tick(
            k,
            mode,
            lt,
            &ltp,
            z.clone(),
            z.clone(),
            z.clone(),
            z.clone(),
            z.clone(),
            self.empty.clone(),
            ohlc,
        )?;
        ticks.append(t)
    }
}

static BEFORE_3_14: OnceLock<bool> = OnceLock::new();

/// Whether NamedTuples of these classes may be built by filling a `tp_alloc`ed instance.
fn direct_alloc(py: Python<'_>, classes: &[*mut ffi::PyTypeObject]) -> bool {
    let old_runtime = *BEFORE_3_14.get_or_init(|| py.version_info() < (3, 14));
    old_runtime
        && classes.iter().all(|&c| {
            // SAFETY: reading the tp_alloc slot of a heap or static type (Python >= 3.10).
            let slot = unsafe { ffi::PyType_GetSlot(c, ffi::Py_tp_alloc) };
            slot == ffi::PyType_GenericAlloc as *mut std::ffi::c_void
        })
}

fn type_ptr(t: &Bound<'_, PyType>) -> PyResult<*mut ffi::PyTypeObject> {
    // SAFETY: PyType_IsSubtype only reads the two type objects.
    let ok = unsafe {
        ffi::PyType_IsSubtype(t.as_ptr().cast(), std::ptr::addr_of_mut!(ffi::PyTuple_Type))
    };
    if ok == 0 {
        return Err(PyValueError::new_err(format!(
            "{t} is not a tuple subclass"
        )));
    }
    Ok(t.as_ptr().cast())
}

/// `TickBounds.as_native()`: price and quantity limits, the timestamp window, known keys.
type BoundsArg<'py> = (i64, i64, i64, i64, i64, Option<Bound<'py, PyAny>>);

/// Decode one binary feed frame.
///
/// Returns `(type, ts_event_ns, ticks, greeks, segment_status, rejected)` where
/// `segment_status` is a list of `(segment, MarketStatus number)` (empty unless the frame
/// is market_info) and `rejected` the `(instrument_key, reason)` of each feed entry that
/// `bounds` rejected (rules in `checks.rs`; `None`: nothing checked, and a non-finite
/// price fails the frame). For a `type` other than 0..=2 the lists are empty (the caller
/// rejects the frame).
#[pyfunction]
#[pyo3(signature = (data, ts_init, tick_cls, depth_cls, ohlc_cls, greeks_cls, modes, bounds=None))]
#[allow(clippy::too_many_arguments)]
fn decode_frame<'py>(
    py: Python<'py>,
    data: &[u8],
    ts_init: Bound<'py, PyAny>,
    tick_cls: &Bound<'py, PyType>,
    depth_cls: &Bound<'py, PyType>,
    ohlc_cls: &Bound<'py, PyType>,
    greeks_cls: &Bound<'py, PyType>,
    modes: &Bound<'py, PyTuple>,
    bounds: Option<BoundsArg<'py>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let checks = bounds.map(|(p, q, lo, hi, ltt_lo, known)| {
        let b = checks::Bounds {
            max_price_paise: p,
            max_quantity: q,
            ts_lo_ms: lo,
            ts_hi_ms: hi,
            ltt_lo_ms: ltt_lo,
        };
        (b, known)
    });
    if modes.len() != 4 {
        return Err(PyValueError::new_err(
            "modes must be 4 FeedMode members by wire number",
        ));
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| wire::parse_frame(data)));
    let frame = match parsed {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            return Err(PyValueError::new_err(format!(
                "malformed feed frame ({} bytes): {e}",
                data.len()
            )))
        }
        Err(_) => return Err(PyValueError::new_err("feed frame decoder panicked")),
    };
    // SAFETY: reading tuple's tp_new slot (static type, Python >= 3.10).
    let slot =
        unsafe { ffi::PyType_GetSlot(std::ptr::addr_of_mut!(ffi::PyTuple_Type), ffi::Py_tp_new) };
    if slot.is_null() {
        return Err(PyValueError::new_err("tuple has no tp_new slot"));
    }
    // SAFETY: the Py_tp_new slot holds a `newfunc`.
    let tuple_new: ffi::newfunc = unsafe { std::mem::transmute(slot) };
    let (tick, depth, ohlc, greeks_t) = (
        type_ptr(tick_cls)?,
        type_ptr(depth_cls)?,
        type_ptr(ohlc_cls)?,
        type_ptr(greeks_cls)?,
    );
    let ctx = Ctx {
        py,
        tick,
        depth,
        ohlc,
        greeks: greeks_t,
        direct: direct_alloc(py, &[tick, depth, ohlc, greeks_t]),
        modes: [
            modes.get_item(0)?,
            modes.get_item(1)?,
            modes.get_item(2)?,
            modes.get_item(3)?,
        ],
        tuple_new,
        ts_event: ms_to_ns(py, frame.current_ts)?,
        ts_init,
        zero: int_i64(py, 0)?,
        empty: PyTuple::empty(py).into_any(),
    };
    let ticks = PyList::empty(py);
    let greeks = PyList::empty(py);
    let status = PyList::empty(py);
    let rejected = PyList::empty(py);
    if (0..=2).contains(&frame.kind) {
        let built = catch_unwind(AssertUnwindSafe(|| -> PyResult<()> {
            for (key, feed) in &frame.feeds {
                if matches!(feed.payload, Payload::Unset) {
                    continue; // nothing to decode (nor to check)
                }
                let k = PyString::new(py, key).into_any();
                if let Some((b, known)) = &checks {
                    if let Some(known) = known {
                        if !known.contains(&k)? {
                            rejected.append((&k, "unknown_key"))?;
                            continue;
                        }
                    }
                    if let Some(r) = checks::reason(feed, frame.current_ts, b) {
                        rejected.append((&k, r))?;
                        continue;
                    }
                }
                ctx.feed(&k, feed, &ticks, &greeks, checks.is_some(), &rejected)?;
            }
            if frame.kind == 2 {
                for (seg, st) in &frame.segment_status {
                    status.append((*seg, *st))?;
                }
            }
            Ok(())
        }));
        match built {
            Ok(r) => r?,
            Err(_) => return Err(PyValueError::new_err("feed frame decoder panicked")),
        }
    }
    PyTuple::new(
        py,
        [
            int_i64(py, i64::from(frame.kind))?,
            ctx.ts_event.clone(),
            ticks.into_any(),
            greeks.into_any(),
            status.into_any(),
            rejected.into_any(),
        ],
    )
}

/// Build one bus `Tick` (a `quant.marketdata.v1.Tick` already parsed) as a NamedTuple.
fn bus_tick<'py>(ctx: &Ctx<'py>, t: &marketdata::BusTick<'_>) -> PyResult<Bound<'py, PyAny>> {
    let py = ctx.py;
    let depth = if t.depth.is_empty() {
        ctx.empty.clone()
    } else {
        let mut levels = Vec::with_capacity(t.depth.len());
        for d in &t.depth {
            levels.push(ctx.make(
                ctx.depth,
                [
                    int_i64(py, d.bid_p)?,
                    int_i64(py, d.bid_q)?,
                    int_i64(py, d.ask_p)?,
                    int_i64(py, d.ask_q)?,
                ],
            )?);
        }
        PyTuple::new(py, levels)?.into_any()
    };
    let ohlc = if t.ohlc.is_empty() {
        ctx.empty.clone()
    } else {
        let mut bars = Vec::with_capacity(t.ohlc.len());
        for b in &t.ohlc {
            bars.push(ctx.make(
                ctx.ohlc,
                [
                    PyString::new(py, b.interval).into_any(),
                    int_i64(py, b.open)?,
                    int_i64(py, b.high)?,
                    int_i64(py, b.low)?,
                    int_i64(py, b.close)?,
                    int_i64(py, b.volume)?,
                    int_i64(py, b.ts_ns)?,
                ],
            )?);
        }
        PyTuple::new(py, bars)?.into_any()
    };
    let s = &t.scalars;
    ctx.make(
        ctx.tick,
        [
            PyString::new(py, t.key).into_any(),
            ctx.modes[(t.mode - 1) as usize].clone(),
            int_i64(py, s[0])?,
            int_i64(py, s[1])?,
            int_i64(py, s[2])?,
            int_i64(py, s[3])?,
            int_i64(py, s[4])?,
            int_i64(py, s[5])?,
            int_i64(py, s[6])?,
            int_i64(py, s[7])?,
            int_i64(py, s[8])?,
            int_i64(py, s[9])?,
            int_i64(py, s[10])?,
            depth,
            ohlc,
        ],
    )
}

/// Decode a batch of bus `quant.marketdata.v1.Tick` messages into `Tick` NamedTuples.
///
/// Returns one entry per message: the tuple, or `None` where the message is malformed,
/// has a mode outside 1..=4 (`modes` are the members of wire numbers 1..=4) or anything else the Python decoder must judge
/// (the caller decodes those with upb, so values and errors match it exactly).
#[pyfunction]
#[pyo3(signature = (messages, tick_cls, depth_cls, ohlc_cls, modes))]
fn decode_ticks<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyList>,
    tick_cls: &Bound<'py, PyType>,
    depth_cls: &Bound<'py, PyType>,
    ohlc_cls: &Bound<'py, PyType>,
    modes: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyList>> {
    if modes.len() != 4 {
        return Err(PyValueError::new_err(
            "modes must be 4 FeedMode members by wire number",
        ));
    }
    // SAFETY: reading tuple's tp_new slot (static type, Python >= 3.10).
    let slot =
        unsafe { ffi::PyType_GetSlot(std::ptr::addr_of_mut!(ffi::PyTuple_Type), ffi::Py_tp_new) };
    if slot.is_null() {
        return Err(PyValueError::new_err("tuple has no tp_new slot"));
    }
    // SAFETY: the Py_tp_new slot holds a `newfunc`.
    let tuple_new: ffi::newfunc = unsafe { std::mem::transmute(slot) };
    let (tick, depth, ohlc) = (
        type_ptr(tick_cls)?,
        type_ptr(depth_cls)?,
        type_ptr(ohlc_cls)?,
    );
    let zero = int_i64(py, 0)?;
    let ctx = Ctx {
        py,
        tick,
        depth,
        ohlc,
        greeks: tick, // unused: bus ticks carry no greeks
        direct: direct_alloc(py, &[tick, depth, ohlc]),
        modes: [
            modes.get_item(0)?,
            modes.get_item(1)?,
            modes.get_item(2)?,
            modes.get_item(3)?,
        ],
        tuple_new,
        ts_event: zero.clone(),
        ts_init: zero.clone(),
        zero,
        empty: PyTuple::empty(py).into_any(),
    };
    let out = PyList::empty(py);
    for item in messages.iter() {
        let Ok(data) = item.downcast::<PyBytes>() else {
            out.append(py.None())?;
            continue;
        };
        let parsed = catch_unwind(AssertUnwindSafe(|| marketdata::parse_tick(data.as_bytes())));
        match parsed {
            Ok(Ok(t)) if (1..=4).contains(&t.mode) => out.append(bus_tick(&ctx, &t)?)?,
            Ok(_) => out.append(py.None())?,
            Err(_) => return Err(PyValueError::new_err("tick decoder panicked")),
        }
    }
    Ok(out)
}

#[pymodule]
fn quant_wire(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_frame, m)?)?;
    m.add_function(wrap_pyfunction!(decode_ticks, m)?)?;
    m.add_function(wrap_pyfunction!(columns::decode_tick_columns, m)?)?;
    m.add_function(wrap_pyfunction!(columns::encode_enriched_columns, m)?)?;
    m.add_function(wrap_pyfunction!(encode::encode_ticks, m)?)?;
    Ok(())
}
