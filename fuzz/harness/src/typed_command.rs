//! `typed_command`: hand-written records (as `#[derive(Record)]` expands
//! them) decoded from arbitrary boxes.
//!
//! Input layout: `selector, box`: the selector's low two bits pick the
//! record ([`Sum`], [`Mixed`], [`Outer`], [`N`]); the rest is given to
//! [`AmpBox::decode`] (one box, terminator included).
//!
//! Each box is decoded under two contexts: nesting limited to 8, and the
//! default (64). Checked:
//!
//! * decoding never panics and never overflows the stack (`N` is
//!   recursive: `struct N { k: Option<Vec<N>> }`, an `AmpList` of itself);
//! * a value nested deeper than the limit is `TooDeep`, never anything
//!   else; whatever decodes under the limit of 8 decodes the same under 64;
//! * a decoded record re-encodes (through [`FieldWriter`], as a request
//!   does), the encoding decodes back to the same record (compared by its
//!   `Debug` text, so NaNs compare equal) and encodes to the same bytes.

use amp_wire::__private::{get_arg, record_decode, record_decode_items, record_encode};
use amp_wire::{AmpBox, Argument, Context, Decimal, DecodeError, EncodeError, FieldWriter, Record};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, FixedOffset, Utc};
use num_bigint::BigInt;
use std::fmt::Debug;
use std::path::PathBuf;

/// Implement `Argument` for a record as the derive does: a box as a value,
/// concatenated boxes (`AmpList`) as a list.
macro_rules! record_argument {
    ($t:ty) => {
        impl Argument for $t {
            fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
                record_encode(self, out, cx)
            }
            fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
                record_decode(raw, cx)
            }
            fn encode_item(
                &self,
                out: &mut BytesMut,
                cx: &mut Context<'_>,
            ) -> Result<(), EncodeError> {
                record_encode(self, out, cx)
            }
            fn decode_items(raw: Bytes, cx: &mut Context<'_>) -> Result<Vec<Self>, DecodeError> {
                record_decode_items(raw, cx)
            }
        }
    };
}

/// `Sum(a, b=optional)`: the classic.
#[derive(Debug)]
pub struct Sum {
    pub a: i64,
    pub b: Option<i64>,
}

impl Record for Sum {
    const FIELDS: &'static [&'static str] = &["a", "b"];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("a", &self.a, cx)?;
        w.put("b", &self.b, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Sum {
            a: get_arg(b, "a", cx)?,
            b: get_arg(b, "b", cx)?,
        })
    }
}

/// One of every kind of value, mostly optional.
#[derive(Debug)]
pub struct Mixed {
    pub amount: Option<Decimal>,
    pub big: Option<BigInt>,
    pub blob: Option<Bytes>,
    pub flag: Option<bool>,
    pub name: String,
    pub path: Option<PathBuf>,
    pub ratio: Option<f64>,
    pub small: Option<f32>,
    pub tags: Option<Vec<String>>,
    pub utc: Option<DateTime<Utc>>,
    pub when: Option<DateTime<FixedOffset>>,
    pub worth: Option<rust_decimal::Decimal>,
}

impl Record for Mixed {
    const FIELDS: &'static [&'static str] = &[
        "amount", "big", "blob", "flag", "name", "path", "ratio", "small", "tags", "utc", "when",
        "worth",
    ];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("amount", &self.amount, cx)?;
        w.put("big", &self.big, cx)?;
        w.put("blob", &self.blob, cx)?;
        w.put("flag", &self.flag, cx)?;
        w.put("name", &self.name, cx)?;
        w.put("path", &self.path, cx)?;
        w.put("ratio", &self.ratio, cx)?;
        w.put("small", &self.small, cx)?;
        w.put("tags", &self.tags, cx)?;
        w.put("utc", &self.utc, cx)?;
        w.put("when", &self.when, cx)?;
        w.put("worth", &self.worth, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Mixed {
            amount: get_arg(b, "amount", cx)?,
            big: get_arg(b, "big", cx)?,
            blob: get_arg(b, "blob", cx)?,
            flag: get_arg(b, "flag", cx)?,
            name: get_arg(b, "name", cx)?,
            path: get_arg(b, "path", cx)?,
            ratio: get_arg(b, "ratio", cx)?,
            small: get_arg(b, "small", cx)?,
            tags: get_arg(b, "tags", cx)?,
            utc: get_arg(b, "utc", cx)?,
            when: get_arg(b, "when", cx)?,
            worth: get_arg(b, "worth", cx)?,
        })
    }
}

/// An `AmpList` element.
#[derive(Debug)]
pub struct Item {
    pub k: String,
    pub v: Option<Vec<i64>>,
}

impl Record for Item {
    const FIELDS: &'static [&'static str] = &["k", "v"];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("k", &self.k, cx)?;
        w.put("v", &self.v, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Item {
            k: get_arg(b, "k", cx)?,
            v: get_arg(b, "v", cx)?,
        })
    }
}
record_argument!(Item);

/// `AmpList`s, a `ListOf(AmpList)`, a record as a value, nested `ListOf`s.
#[derive(Debug)]
pub struct Outer {
    pub grid: Option<Vec<Vec<Vec<i32>>>>,
    pub items: Vec<Item>,
    pub one: Option<Item>,
    pub pages: Option<Vec<Vec<Item>>>,
}

impl Record for Outer {
    const FIELDS: &'static [&'static str] = &["grid", "items", "one", "pages"];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("grid", &self.grid, cx)?;
        w.put("items", &self.items, cx)?;
        w.put("one", &self.one, cx)?;
        w.put("pages", &self.pages, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Outer {
            grid: get_arg(b, "grid", cx)?,
            items: get_arg(b, "items", cx)?,
            one: get_arg(b, "one", cx)?,
            pages: get_arg(b, "pages", cx)?,
        })
    }
}

/// A recursive record: `k` is an `AmpList` of `N`.
#[derive(Debug)]
pub struct N {
    pub k: Option<Vec<N>>,
}

impl Record for N {
    const FIELDS: &'static [&'static str] = &["k"];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("k", &self.k, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(N {
            k: get_arg(b, "k", cx)?,
        })
    }
}
record_argument!(N);

impl N {
    fn depth(&self) -> usize {
        1 + self.k.iter().flatten().map(N::depth).max().unwrap_or(0)
    }
}

/// Encode as a request does (with `_ask`/`_command` extras), then strip
/// them again: the record's own box.
fn encode<R: Record>(r: &R) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    let mut w = FieldWriter::new(&mut out, &[(b"_ask", b"1"), (b"_command", b"Cmd")]);
    r.write_fields(&mut w, &mut Context::none())?;
    w.finish()?;
    let mut b = AmpBox::decode(out.freeze()).expect("FieldWriter writes a valid box");
    assert_eq!(b.remove("_ask").as_deref(), Some(&b"1"[..]));
    assert_eq!(b.remove("_command").as_deref(), Some(&b"Cmd"[..]));
    Ok(b.to_bytes().unwrap())
}

fn check<R: Record + Debug>(b: &AmpBox) -> Option<R> {
    let mut small = Context::none().with_max_nesting(8);
    let limited = R::read_fields(b, &mut small);
    let full = R::read_fields(b, &mut Context::none());
    if let Err(e) = &limited {
        if let Ok(r) = &full {
            // Only the nesting limit may make a difference.
            assert!(
                matches!(e, DecodeError::TooDeep { limit: 8, .. }),
                "{e:?} under a nesting limit of 8, but decodes under 64 to {r:?}"
            );
        }
    }
    if let Err(DecodeError::TooDeep { limit, .. }) = &full {
        assert_eq!(*limit, 64);
    }
    if let (Ok(a), Ok(b)) = (&limited, &full) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    let r = full.ok()?;
    let wire = match encode(&r) {
        Ok(w) => w,
        // A value may grow when written canonically (`1e5` becomes
        // `100000.0`): only the value length limit may stop it.
        Err(EncodeError::ValueTooLong { .. }) => return None,
        Err(e) => panic!("{r:?} decoded but does not encode: {e}"),
    };
    let b2 = AmpBox::decode(wire.clone()).unwrap();
    let r2 = R::read_fields(&b2, &mut Context::none())
        .unwrap_or_else(|e| panic!("{r:?} encodes to {b2:?}, which does not decode: {e}"));
    assert_eq!(
        format!("{r:?}"),
        format!("{r2:?}"),
        "decode(encode(r)) != r"
    );
    assert_eq!(encode(&r2).unwrap(), wire, "the encoding is not canonical");
    // The record's own box equals the one Record::to_box gives.
    assert_eq!(r.to_box().unwrap(), b2);
    Some(r)
}

pub fn run(data: &[u8]) {
    let Some((&sel, raw)) = data.split_first() else {
        return;
    };
    let Ok(b) = AmpBox::decode(Bytes::copy_from_slice(raw)) else {
        return;
    };
    match sel & 3 {
        0 => {
            if let Some(s) = check::<Sum>(&b) {
                // Extra keys are ignored; b absent means None.
                assert_eq!(s.b.is_none(), !b.contains_key("b"));
            }
        }
        1 => drop(check::<Mixed>(&b)),
        2 => drop(check::<Outer>(&b)),
        _ => {
            if let Some(n) = check::<N>(&b) {
                // Each level of N is one level of nesting: the top-level
                // record itself is not counted (it is the box).
                assert!(n.depth() <= 64 + 1, "N of depth {} decoded", n.depth());
            }
        }
    }
}
