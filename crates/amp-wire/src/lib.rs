//! The I/O-free core of amp-rs: everything about AMP (Twisted's
//! Asynchronous Messaging Protocol) that does not touch a socket.
//!
//! * [`AmpBox`] and [`BoxDecoder`]: the box wire format, zero-copy;
//! * [`Argument`] and its implementations: every Twisted argument type;
//! * [`Record`], [`Command`], [`ErrorTable`]: typed commands;
//! * [`Dispatcher`]: the ask/answer bookkeeping as a state machine.
//!
//! Most users depend on the `amp` crate, which re-exports all of this and
//! adds the tokio runtime.

#![warn(missing_docs)]

mod ambox;
mod codec;
mod command;
pub mod dispatch;
mod error;
pub mod types;

pub use ambox::{AmpBox, IntoBytes};
pub use codec::{decode_all, BoxDecoder};
pub use command::{Command, ErrorTable, NoError, Record};
pub use dispatch::{Dispatcher, Incoming};
pub use error::{DecodeError, EncodeError, ProtocolError, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};
pub use types::{from_value, to_value, Argument, Context, Decimal, Descriptor, Descriptors};

/// Printable form of a byte string: the text itself when it is printable
/// ASCII, Python-style `b'...'` escapes otherwise.
pub fn display_bytes(b: &[u8]) -> String {
    if b.iter().all(|c| (0x20..0x7f).contains(c)) {
        String::from_utf8_lossy(b).into_owned()
    } else {
        dispatch::python_bytes_repr(b)
    }
}
