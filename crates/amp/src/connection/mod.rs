//! The tokio side of a connection: the handle callers use, the task that
//! runs it, and what they share. The protocol itself is
//! [`amp_wire::session::Session`]; this module only moves bytes, runs
//! responders and keeps time.

mod calling;
mod channel;
mod driver;
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
mod stats;
#[cfg(feature = "tower")]
mod tower;
mod transport;
#[cfg(feature = "unix")]
mod unix;

pub use channel::{Channel, ChannelError};
pub use driver::Driver;
pub use handle::Connection;
pub(crate) use handle::Control;
pub use options::CallOptions;
pub(crate) use responding::{Bind, Dispatch, Responding};
pub(crate) use shared::{Shared, State};
pub(crate) use starter::Starter;
