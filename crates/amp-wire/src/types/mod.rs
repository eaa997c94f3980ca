//! Argument types: how Rust values become AMP values and back.
//!
//! Every type usable as a command argument or response value implements
//! [`Argument`]. The encodings are exactly Twisted's (`docs/PROTOCOL.md`
//! §3 has the wire format of each):
//!
//! | Twisted | Rust |
//! |---|---|
//! | `Integer` | `i8`..`i128`, `u8`..`u128`, `isize`, `usize`, [`num_bigint::BigInt`] |
//! | `String` | `Vec<u8>`, [`bytes::Bytes`] |
//! | `Unicode` | `String` |
//! | `Boolean` | `bool` |
//! | `Float` | `f64`, `f32` |
//! | `Decimal` | [`Decimal`] (exact Python text; converts to/from `rust_decimal::Decimal`), `rust_decimal::Decimal` |
//! | `DateTime` | `chrono::DateTime<FixedOffset>`, `chrono::DateTime<Utc>` |
//! | `ListOf(T)` | `Vec<T>` for any argument type `T` |
//! | `AmpList([...])` | `Vec<R>` where `R` derives `Record` |
//! | `Path` | `std::path::PathBuf` |
//! | `Descriptor` | [`Descriptor`] |
//! | `optional=True` | `Option<T>` (absent key = `None`) |
//! | `BigString` / `BigUnicode` (Evennia, JoinMarket, clj-amp: chunks under `k`, `k.2`, ...) | [`BigBytes`], [`BigString`] |
//! | Evennia's `Compressed` (the same chunks, each zlib-compressed) | [`Compressed`], [`CompressedString`] (feature `compress`) |
//!
//! Implement [`Argument`] for your own types to extend the set.
//!
//! ## Values over 64 KiB
//!
//! An AMP value is at most 65,535 bytes. The scheme that Twisted programs in
//! the wild use to go past that (Evennia, JoinMarket and clj-amp call it
//! `BigString`/`BigUnicode`) spreads one argument `k` over the entries
//!
//! * `k`: the first 65,535 bytes,
//! * `k.2`: the next 65,535 bytes,
//! * `k.3`, `k.4`, ...: and so on, the last chunk holding what remains.
//!
//! The edge cases, settled as those Python implementations settle them:
//!
//! * `k` is always written, so an empty value is the single entry `k = ""`;
//! * a value of exactly 65,535 bytes is the single entry `k` (no empty
//!   `k.2`); 65,536 bytes are `k` (65,535) and `k.2` (1);
//! * the reader takes `k` (which must be there, unless the argument is
//!   optional) and then `k.N` from N = 2 upward until one is missing: a gap
//!   ends the value, whatever entries follow it (they are ignored, as any
//!   unknown key is);
//! * the reader accepts chunks of any size (it only concatenates);
//! * the entries are written, like every box, in bytewise key order, so
//!   `k.10` comes before `k.2` on the wire, exactly as Twisted serialises
//!   the box.
//!
//! The whole value is bounded by the box it travels in
//! ([`Config::max_box_size`](crate::Config::max_box_size)).
//!
//! [`Compressed`] and [`CompressedString`] (Evennia's `Compressed`) use
//! the same keys, each chunk compressed on its own (their documentation has
//! the details).
//!
//! Inside a `ListOf` (`Vec<BigBytes>`) or as a field of a record sent in an
//! `AmpList`, the Python types are not chunked either (they only chunk as
//! top-level arguments of a box): there a big value is one ordinary value,
//! at most 65,535 bytes, and a longer one is an encoding error.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError, MAX_VALUE_LENGTH};
use crate::{AmpBox, FieldWriter};

/// The conversions of a newtype over `Bytes` (`into_inner`, `Deref`,
/// `From<Bytes>`, `From<Vec<u8>>`, `From<&'static [u8]>`, and back into
/// `Bytes`), shared by the big and compressed byte types.
macro_rules! bytes_newtype {
    ($t:ident, $doc:literal) => {
        impl $t {
            #[doc = $doc]
            pub fn into_inner(self) -> bytes::Bytes {
                self.0
            }
        }
        impl std::ops::Deref for $t {
            type Target = bytes::Bytes;
            fn deref(&self) -> &bytes::Bytes {
                &self.0
            }
        }
        impl From<bytes::Bytes> for $t {
            fn from(b: bytes::Bytes) -> Self {
                $t(b)
            }
        }
        impl From<Vec<u8>> for $t {
            fn from(b: Vec<u8>) -> Self {
                $t(b.into())
            }
        }
        impl From<&'static [u8]> for $t {
            fn from(b: &'static [u8]) -> Self {
                $t(bytes::Bytes::from_static(b))
            }
        }
        impl From<$t> for bytes::Bytes {
            fn from(b: $t) -> Self {
                b.0
            }
        }
    };
}

/// The conversions of a newtype over `String` (`into_inner`, `Deref`,
/// `From<String>`, `From<&str>`, and back into `String`).
macro_rules! string_newtype {
    ($t:ident) => {
        impl $t {
            /// The text.
            pub fn into_inner(self) -> String {
                self.0
            }
        }
        impl std::ops::Deref for $t {
            type Target = String;
            fn deref(&self) -> &String {
                &self.0
            }
        }
        impl From<String> for $t {
            fn from(s: String) -> Self {
                $t(s)
            }
        }
        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                $t(s.to_owned())
            }
        }
        impl From<$t> for String {
            fn from(s: $t) -> Self {
                s.0
            }
        }
    };
}

mod basic;
mod big;
#[cfg(feature = "compress")]
mod compressed;
mod datetime;
mod decimal;
mod descriptor;
mod float;
mod put;

pub use big::{BigBytes, BigString};
#[cfg(feature = "compress")]
pub use compressed::{Compressed, CompressedString};
pub use decimal::Decimal;
pub use descriptor::{Descriptor, Descriptors};
pub use float::{format_python_float, parse_python_float};

/// Per-connection services an argument type may need while encoding or
/// decoding: today, the descriptor channel used by [`Descriptor`].
///
/// Outside a connection (tests, tools) use [`Context::none`].
///
/// ```
/// use amp_wire::{Argument, Context, Descriptor};
///
/// let mut cx = Context::none();
/// let mut out = bytes::BytesMut::new();
/// 42i64.encode(&mut out, &mut cx).unwrap();
/// assert_eq!(&out[..], b"42");
/// assert_eq!(i64::decode(out.freeze(), &mut cx).unwrap(), 42);
///
/// // No descriptor channel here: a descriptor cannot be sent.
/// assert!(cx.descriptors().is_none());
/// let file = std::fs::File::open("/dev/null").unwrap();
/// assert!(Descriptor(file.into()).encode(&mut bytes::BytesMut::new(), &mut cx).is_err());
/// ```
pub struct Context<'a> {
    pub(crate) descriptors: Option<&'a mut dyn Descriptors>,
    depth: usize,
    max_depth: usize,
    max_value_size: usize,
}

impl<'a> Context<'a> {
    /// A context with no descriptor channel: [`Descriptor`] values fail to
    /// encode/decode, everything else works. Lists may nest as deep as
    /// [`Config::default`](crate::Config) allows.
    pub fn none() -> Context<'static> {
        Context {
            descriptors: None,
            depth: 0,
            max_depth: crate::config::DEFAULT_MAX_NESTING,
            max_value_size: crate::config::DEFAULT_MAX_BOX_SIZE,
        }
    }

    /// A context that passes descriptors through `d`.
    ///
    /// ```
    /// use amp_wire::{Argument, Context, DecodeError, Descriptor, Descriptors, EncodeError};
    /// use std::os::fd::{BorrowedFd, OwnedFd};
    ///
    /// /// Numbers what it is given and hands nothing back.
    /// struct Counter(u64);
    /// impl Descriptors for Counter {
    ///     fn send(&mut self, _: BorrowedFd<'_>) -> Result<u64, EncodeError> {
    ///         self.0 += 1;
    ///         Ok(self.0 - 1)
    ///     }
    ///     fn receive(&mut self, n: u64) -> Result<OwnedFd, DecodeError> {
    ///         Err(DecodeError::invalid(format!("no descriptor {n}")))
    ///     }
    /// }
    ///
    /// let mut channel = Counter(0);
    /// let mut cx = Context::with_descriptors(&mut channel);
    /// let file = std::fs::File::open("/dev/null").unwrap();
    /// let mut out = bytes::BytesMut::new();
    /// Descriptor(file.into()).encode(&mut out, &mut cx).unwrap();
    /// assert_eq!(&out[..], b"0"); // the ordinal of the first descriptor sent
    /// assert!(cx.descriptors().is_some());
    /// ```
    pub fn with_descriptors(d: &'a mut dyn Descriptors) -> Self {
        Context {
            descriptors: Some(d),
            ..Context::none()
        }
    }

    /// Allow `ListOf`/`AmpList` values nested at most `max` levels deep
    /// when decoding ([`Config::max_nesting`](crate::Config::max_nesting)).
    ///
    /// ```
    /// use amp_wire::{Argument, Context, DecodeError};
    /// let nested = amp_wire::to_value(&vec![vec![vec![1i64]]]).unwrap();
    /// let mut cx = Context::none().with_max_nesting(2);
    /// assert!(matches!(
    ///     Vec::<Vec<Vec<i64>>>::decode(nested, &mut cx),
    ///     Err(DecodeError::TooDeep { limit: 2, .. })
    /// ));
    /// ```
    pub fn with_max_nesting(mut self, max: usize) -> Self {
        self.max_depth = max;
        self
    }

    /// Allow values reassembled or decompressed by an argument type (the
    /// chunked [`BigBytes`] family, and [`Compressed`] above all: a few
    /// kilobytes of zlib can inflate to gigabytes) to reach at most `max`
    /// bytes. Connections set it to
    /// [`Config::max_box_size`](crate::Config::max_box_size); the default is
    /// that setting's default, 4 MiB.
    ///
    /// ```
    /// use amp_wire::Context;
    /// assert_eq!(Context::none().max_value_size(), 4 << 20);
    /// assert_eq!(Context::none().with_max_value_size(1000).max_value_size(), 1000);
    /// ```
    pub fn with_max_value_size(mut self, max: usize) -> Self {
        self.max_value_size = max;
        self
    }

    /// The most bytes a reassembled or decompressed value may have (see
    /// [`Context::with_max_value_size`]).
    ///
    /// ```
    /// use amp_wire::Context;
    /// let cx = Context::none().with_max_value_size(1 << 20);
    /// assert_eq!(cx.max_value_size(), 1 << 20);
    /// ```
    pub fn max_value_size(&self) -> usize {
        self.max_value_size
    }

    /// Run `f` one list level deeper; past the nesting limit, fail with
    /// [`DecodeError::TooDeep`] instead. Every `Vec<T>` value (`ListOf`,
    /// `AmpList`) and every record decoded as a value is one level; a
    /// recursive [`Argument`] of your own should decode its children
    /// through this too.
    ///
    /// ```
    /// use amp_wire::{Context, DecodeError};
    ///
    /// /// How deep `(((…)))` nests, one context level per parenthesis.
    /// fn depth(s: &[u8], cx: &mut Context<'_>) -> Result<usize, DecodeError> {
    ///     match s {
    ///         [b'(', inner @ .., b')'] => cx.nested(|cx| depth(inner, cx)).map(|d| d + 1),
    ///         _ => Ok(0),
    ///     }
    /// }
    /// let mut cx = Context::none().with_max_nesting(3);
    /// assert_eq!(depth(b"((()))", &mut cx), Ok(3));
    /// assert!(matches!(depth(b"(((())))", &mut cx), Err(DecodeError::TooDeep { limit: 3, .. })));
    /// ```
    pub fn nested<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        if self.depth >= self.max_depth {
            return Err(DecodeError::TooDeep {
                key: Bytes::new(),
                limit: self.max_depth,
            });
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// The descriptor channel, if this connection has one.
    pub fn descriptors(&mut self) -> Option<&mut (dyn Descriptors + 'a)> {
        self.descriptors.as_deref_mut()
    }
}

/// A Rust type that can travel as one AMP value.
///
/// `encode` appends the value's bytes to `out`; `decode` parses a received
/// value (a zero-copy slice of the read buffer). The remaining methods have
/// defaults that fit almost every type:
///
/// * `is_present`/`absent` implement optional arguments (`Option<T>`);
/// * `encode_item`/`decode_items` define how a `Vec<Self>` is laid out:
///   by default `ListOf`'s `u16`-length-prefixed elements; records override
///   them to produce `AmpList`'s concatenated boxes;
/// * `write_field`/`read_field` define how the value sits in a box as a
///   named argument: by default one entry, `name = encode(value)`; the
///   chunked types ([`BigBytes`] and friends) override them to spread a
///   value over the entries `name`, `name.2`, `name.3`, ...
///
/// ```
/// use amp_wire::{Argument, Context, DecodeError, EncodeError};
/// use bytes::{Bytes, BytesMut};
///
/// /// A point sent as "x,y".
/// #[derive(Debug, PartialEq)]
/// struct Point(i32, i32);
///
/// impl Argument for Point {
///     fn encode(&self, out: &mut BytesMut, _: &mut Context<'_>) -> Result<(), EncodeError> {
///         out.extend_from_slice(format!("{},{}", self.0, self.1).as_bytes());
///         Ok(())
///     }
///     fn decode(raw: Bytes, _: &mut Context<'_>) -> Result<Self, DecodeError> {
///         let s = std::str::from_utf8(&raw).map_err(|e| DecodeError::invalid(e.to_string()))?;
///         let (x, y) = s.split_once(',').ok_or_else(|| DecodeError::invalid("no comma"))?;
///         let p = |v: &str| v.parse().map_err(|_| DecodeError::invalid("not a number"));
///         Ok(Point(p(x)?, p(y)?))
///     }
/// }
///
/// let v = amp_wire::to_value(&Point(3, -4)).unwrap();
/// assert_eq!(&v[..], b"3,-4");
/// assert_eq!(amp_wire::from_value::<Point>(v).unwrap(), Point(3, -4));
/// // ListOf(Point) comes for free:
/// let l = amp_wire::to_value(&vec![Point(1, 2)]).unwrap();
/// assert_eq!(&l[..], b"\x00\x031,2");
/// ```
pub trait Argument: Sized {
    /// Append the wire form of `self` to `out`.
    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError>;

    /// Parse a received value.
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError>;

    /// Whether this value is written at all (`false` only for `None`).
    fn is_present(&self) -> bool {
        true
    }

    /// Its AMP type, for descriptions ([`crate::describe`]). A type of
    /// your own is [`AmpType::Raw`](crate::describe::AmpType::Raw) unless
    /// it says otherwise.
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Raw
    }

    /// The AMP type of a `Vec` of it: `ListOf` it, or, for a record,
    /// `AmpList` of its fields.
    fn list_type() -> crate::describe::AmpType {
        crate::describe::AmpType::ListOf(Box::new(Self::amp_type()))
    }

    /// The value to use when the key is absent; `None` means the argument is
    /// required (the default).
    fn absent() -> Option<Self> {
        None
    }

    /// Write `self` as the argument `name` of the box being written
    /// (derived records call this for every field). The default writes
    /// one entry with [`FieldWriter::put`] (nothing for `None`); a type that
    /// needs several entries writes them all here, with
    /// [`FieldWriter::put_raw`].
    fn write_field(
        &self,
        w: &mut FieldWriter<'_>,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put(name, self, cx)
    }

    /// Read the argument `name` from a received box (derived records call
    /// this for every field). The default decodes the entry `name`, or
    /// uses [`Argument::absent`] when there is none (an error naming the
    /// missing argument unless the type is optional).
    fn read_field(
        b: &AmpBox,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<Self, DecodeError> {
        match b.get_bytes(name) {
            Some(v) => Self::decode(v, cx).map_err(|e| e.with_key(name)),
            None => Self::absent().ok_or_else(|| DecodeError::missing(name)),
        }
    }

    /// Append `self` as one element of a `Vec<Self>` value.
    fn encode_item(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let at = out.len();
        out.put_u16(0);
        if let Err(e) = self.encode(out, cx) {
            out.truncate(at);
            return Err(e);
        }
        let len = out.len() - at - 2;
        if len > MAX_VALUE_LENGTH {
            out.truncate(at);
            return Err(EncodeError::ValueTooLong {
                key: Bytes::new(),
                len,
            });
        }
        out[at..at + 2].copy_from_slice(&(len as u16).to_be_bytes());
        Ok(())
    }

    /// Parse a whole `Vec<Self>` value (one nesting level: see
    /// [`Context::nested`]).
    fn decode_items(raw: Bytes, cx: &mut Context<'_>) -> Result<Vec<Self>, DecodeError> {
        cx.nested(|cx| {
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < raw.len() {
                if raw.len() - pos < 2 {
                    return Err(DecodeError::invalid("truncated ListOf element length"));
                }
                let len = u16::from_be_bytes([raw[pos], raw[pos + 1]]) as usize;
                pos += 2;
                if raw.len() - pos < len {
                    return Err(DecodeError::invalid(format!(
                        "ListOf element of {len} bytes runs past the end of the value"
                    )));
                }
                out.push(Self::decode(raw.slice(pos..pos + len), cx)?);
                pos += len;
            }
            Ok(out)
        })
    }
}

/// Encode one value on its own (no descriptor channel).
///
/// ```
/// assert_eq!(amp_wire::to_value(&-7i64).unwrap(), "-7");
/// assert_eq!(amp_wire::to_value(&true).unwrap(), "True");
/// let list = vec!["a".to_owned(), "bc".to_owned()];
/// assert_eq!(amp_wire::to_value(&list).unwrap(), &b"\x00\x01a\x00\x02bc"[..]);
/// assert!(amp_wire::to_value(&None::<i64>).is_err()); // only an absent argument
/// ```
pub fn to_value<T: Argument>(v: &T) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    v.encode(&mut out, &mut Context::none())?;
    Ok(out.freeze())
}

/// Decode one value on its own (no descriptor channel).
///
/// ```
/// use amp_wire::DecodeError;
///
/// assert_eq!(amp_wire::from_value::<i64>("42"), Ok(42));
/// assert_eq!(amp_wire::from_value::<bool>("False"), Ok(false));
/// let words: Vec<String> = amp_wire::from_value(&b"\x00\x02hi\x00\x02yo"[..]).unwrap();
/// assert_eq!(words, ["hi", "yo"]);
/// assert!(matches!(amp_wire::from_value::<i64>("4.2"), Err(DecodeError::Invalid { .. })));
/// ```
pub fn from_value<T: Argument>(raw: impl Into<Bytes>) -> Result<T, DecodeError> {
    T::decode(raw.into(), &mut Context::none())
}

/// `Option<T>`: Twisted's `optional=True`. `None` is not written; an absent
/// key decodes as `None`.
impl<T: Argument> Argument for Option<T> {
    fn amp_type() -> crate::describe::AmpType {
        T::amp_type()
    }

    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.encode(out, cx),
            None => Err(EncodeError::invalid(
                "None cannot be encoded as a value (only as an absent argument)",
            )),
        }
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        T::decode(raw, cx).map(Some)
    }
    fn is_present(&self) -> bool {
        self.is_some()
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
    fn write_field(
        &self,
        w: &mut FieldWriter<'_>,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write_field(w, name, cx),
            None => Ok(()),
        }
    }
    fn read_field(
        b: &AmpBox,
        name: &'static str,
        cx: &mut Context<'_>,
    ) -> Result<Self, DecodeError> {
        if b.contains_key(name) {
            T::read_field(b, name, cx).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// `Vec<T>`: `ListOf(T)` for plain types, `AmpList` for records.
impl<T: Argument> Argument for Vec<T> {
    fn amp_type() -> crate::describe::AmpType {
        T::list_type()
    }

    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let start = out.len();
        for item in self {
            if let Err(e) = item.encode_item(out, cx) {
                out.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        T::decode_items(raw, cx)
    }
}
