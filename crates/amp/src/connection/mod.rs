//! The tokio side of a connection: the handle callers use, the task that
//! runs it, and what they share. The protocol itself is
//! [`amp_wire::session::Session`]; this module only moves bytes, runs
//! responders and keeps time.

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
pub use driver::Driver;
pub use handle::Connection;
pub(crate) use control::Control;
pub use options::CallOptions;
pub(crate) use responding::{Bind, Dispatch, Responding};
pub(crate) use shared::State;
pub(crate) use starter::Starter;
