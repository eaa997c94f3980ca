//! The I/O-free core of amp-rs: everything about AMP (Twisted's
//! Asynchronous Messaging Protocol) that does not touch a socket.
//!
//! * [`AmpBox`], [`BoxDecoder`] and [`FieldWriter`]: the box wire format,
//!   zero-copy in and straight-to-bytes out;
//! * [`Argument`] and its implementations: every Twisted argument type;
//! * [`Record`], [`Command`], [`ErrorTable`]: typed commands;
//! * [`session::Session`]: the whole protocol of one connection (tags,
//!   dispatch, Twisted's close rules, protocol switching, StartTLS, limits
//!   and deadlines) as a state machine, with [`Config`] for its limits.
//!
//! Most users depend on the `amp` crate, which re-exports all of this and
//! runs sessions on tokio.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod ambox;
mod codec;
mod command;
mod config;
pub mod describe;
mod error;
mod fields;
pub mod session;
pub mod types;

pub use ambox::{AmpBox, IntoBytes, Iter};
pub use codec::{boxes, decode_all, BoxDecoder, Boxes};
pub use command::{Command, ErrorTable, NoError, Record};
pub use config::{
    Config, ConfigBuilder, ConfigError, DEFAULT_KEEPALIVE_COMMAND, MAX_MAX_BOX_SIZE,
    MIN_MAX_BOX_SIZE, RESERVED_COMMANDS,
};
pub use error::{DecodeError, EncodeError, ProtocolError, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};
pub use fields::FieldWriter;
pub use session::{Disconnect, Timeout};
pub use types::{
    from_value, to_value, Argument, BigBytes, BigString, Context, Decimal, Descriptor, Descriptors,
};
#[cfg(feature = "compress")]
pub use types::{Compressed, CompressedString};

/// Printable form of a byte string: the text itself when it is printable
/// ASCII, Python's `repr()` of the bytes otherwise.
///
/// ```
/// assert_eq!(amp_wire::display_bytes(b"Sum"), "Sum");
/// assert_eq!(amp_wire::display_bytes(b"a\x00"), "b'a\\x00'");
/// assert_eq!(amp_wire::display_bytes(b"it's\n"), "b\"it's\\n\"");
/// ```
pub fn display_bytes(b: &[u8]) -> String {
    if b.iter().all(|c| (0x20..0x7f).contains(c)) {
        String::from_utf8_lossy(b).into_owned()
    } else {
        python_bytes_repr(b)
    }
}

/// Twisted's description for an unhandled command: `Unhandled Command: b'NAME'`.
///
/// ```
/// assert_eq!(amp_wire::unhandled_description(b"Nope"), "Unhandled Command: b'Nope'");
/// ```
pub fn unhandled_description(name: &[u8]) -> String {
    format!("Unhandled Command: {}", python_bytes_repr(name))
}

/// Python's `repr()` of a `bytes` object.
fn python_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// Support for derived code; not a public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
