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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{CallOptions, Command, Config, Connection, Record, Router};
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
    ///     tokio::time::sleep(Duration::from_millis(100)).await;
    ///     Ok(Done {})
    /// }));
    /// // Calls on this connection time out after 10 ms...
    /// let config = Config::builder().call_timeout(Some(Duration::from_millis(10))).build().unwrap();
    /// let client = Connection::builder().config(config).spawn(b);
    /// assert!(client.call(Slow).await.is_err());
    /// // ...except this one.
    /// assert!(client.call_with(Slow, CallOptions::new().no_timeout()).await.is_ok());
    /// # }
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{CallOptions, Command, Connection, Record, Router};
    /// use std::time::Duration;
    ///
    /// #[derive(Command)]
    /// #[amp(response = Done)]
    /// struct Crunch;
    /// #[derive(Record)]
    /// struct Done {}
    ///
    /// // Tells when the responder is dropped.
    /// struct Guard(tokio::sync::mpsc::UnboundedSender<()>);
    /// impl Drop for Guard {
    ///     fn drop(&mut self) { let _ = self.0.send(()); }
    /// }
    /// let (tx, mut dropped) = tokio::sync::mpsc::unbounded_channel();
    /// let router = Router::with_state(tx).cancellable().route(|_: Crunch, ctx| async move {
    ///     let _guard = Guard(ctx.state.clone());
    ///     tokio::time::sleep(Duration::from_secs(3600)).await;
    ///     Ok(Done {})
    /// });
    /// let (a, b) = tokio::io::duplex(4096);
    /// Connection::spawn(a, router);
    /// let client = Connection::spawn(b, Router::new());
    /// let options = CallOptions::new().timeout(Duration::from_millis(50)).cancel_remotely();
    /// assert!(client.call_with(Crunch, options).await.is_err()); // timed out...
    /// dropped.recv().await.unwrap(); // ...and the server stopped working on it
    /// # }
    /// ```
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
