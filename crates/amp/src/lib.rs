//! amp (being written).

mod connection;
mod error;
mod router;

pub use connection::{serve, Config, Connection, Driver};
pub use error::{CallError, Disconnect, RawError};
pub use router::{Ctx, Router};

pub use amp_derive::{AmpError, Command, Record};
pub use amp_wire::{
    decode_all, dispatch, display_bytes, from_value, to_value, types, AmpBox, Argument, BoxDecoder,
    Command, Context, DecodeError, Decimal, Descriptor, Descriptors, EncodeError, ErrorTable,
    NoError, ProtocolError, Record, MAX_KEY_LENGTH, MAX_VALUE_LENGTH,
};

/// Support for derived code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use amp_wire::types::{get_arg, put_arg, record_decode, record_decode_items, record_encode};
    pub use bytes::{Bytes, BytesMut};
}
