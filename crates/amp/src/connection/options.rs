//! [`CallOptions`]: what one call may set for itself (its timeout).

use std::time::Duration;

/// Options of one call ([`Connection::call_with`](crate::Connection::call_with),
/// [`Connection::call_raw_with`](crate::Connection::call_raw_with)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use amp::{CallError, CallOptions, Command, Connection, Record, Router};
/// use std::time::Duration;
///
/// #[derive(Command)]
/// #[amp(response = Done)]
/// struct Slow;
/// #[derive(Record)]
/// struct Done {}
///
/// let (a, b) = tokio::io::duplex(4096);
/// Connection::spawn(a, Router::new().route(|_: Slow, _| async {
///     tokio::time::sleep(Duration::from_secs(3600)).await;
///     Ok(Done {})
/// }));
/// let client = Connection::spawn(b, Router::new());
/// let r = client.call_with(Slow, CallOptions::new().timeout(Duration::from_millis(50))).await;
/// assert!(matches!(r, Err(CallError::Timeout(_))));
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct CallOptions {
    /// `None`: the connection's [`Config::call_timeout`](amp_wire::Config::call_timeout).
    timeout: Option<Option<Duration>>,
    cancel_remotely: bool,
}

impl CallOptions {
    /// The connection's defaults.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Fail with [`CallError::Timeout`](crate::CallError::Timeout) if no answer came within `limit`
    /// (writing the request included). The connection goes on, and the
    /// answer, if it comes later, is dropped quietly: the tag is
    /// remembered (Twisted would close the connection on an answer to a
    /// tag it does not know).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(Some(limit));
        self
    }

    /// Wait as long as it takes, whatever the connection's
    /// [`Config::call_timeout`](amp_wire::Config::call_timeout) says.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// If the call is given up before its answer (its future dropped, or
    /// its timeout passed), ask the peer to stop working on it: `Cancel`
    /// with the call's tag is sent (with `_ask`, so a peer that does not
    /// know `Cancel`, such as a plain Twisted peer, just answers
    /// `UNHANDLED`). An amp-rs peer whose router is
    /// [`cancellable`](crate::Router::cancellable) drops the responder.
    /// Best effort; see [`Router::cancellable`](crate::Router::cancellable).
    pub fn cancel_remotely(mut self) -> Self {
        self.cancel_remotely = true;
        self
    }

    /// Whether giving the call up sends `Cancel`.
    pub(crate) fn cancels_remotely(&self) -> bool {
        self.cancel_remotely
    }

    /// The timeout given to this call, if one was (`None`: the
    /// connection's default applies).
    pub(crate) fn explicit_timeout(&self) -> Option<Duration> {
        self.timeout.flatten()
    }

    /// The timeout in force, given the connection's default.
    pub(crate) fn timeout_or(&self, default: Option<Duration>) -> Option<Duration> {
        self.timeout.unwrap_or(default)
    }
}
