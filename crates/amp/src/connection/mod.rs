//! The tokio side of a connection: the handle callers use, the task that
//! runs it, and what they share. The protocol itself is
//! [`amp_wire::session::Session`]; this module only moves bytes, runs
//! responders and keeps time.
//!
//! The files, from the bottom up (each uses only those above it):
//! `shared` (the state the handle and the driver share, under one lock),
//! `request` (a request written, its reply awaited), `errors` (the
//! caller's error for a refusal or a failed reply), `calling` (calls,
//! notifications, raw calls: what `Connection` and `Channel` share),
//! `handle` ([`Connection`] and its methods), `control` (a server's hold
//! on a connection), `responding`, `starter` and `running` (the peer's
//! requests answered), `driver` (the task), and `wiring` (a connection
//! put together: session, shared state, handle, driver).
//!
//! `impl Connection` is in `handle`, except where a method belongs to
//! another concern: the constructors beside [`ConnectionBuilder`]
//! (`open.rs`), channels beside [`Channel`], StartTLS (feature `tls`) in
//! `starttls`, tower's `Service` (feature `tower`) in `tower`, and the
//! crate-private wiring in `wiring`.
//!
//! [`ConnectionBuilder`]: crate::ConnectionBuilder

mod calling;
mod channel;
mod control;
mod driver;
mod errors;
mod handle;
mod options;
mod request;
pub(crate) mod responding;
mod running;
mod shared;
mod spans;
mod starter;
#[cfg(feature = "tls")]
mod starttls;
#[cfg(feature = "tower")]
mod tower;
mod transport;
mod wiring;

pub use channel::{Channel, ChannelError};
pub(crate) use control::Control;
pub use driver::Driver;
pub use handle::Connection;
pub use options::CallOptions;
pub(crate) use responding::{Bind, Dispatch, Responding};
pub(crate) use starter::Starter;
