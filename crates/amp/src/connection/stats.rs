//! [`Connection::stats`]: the session's counters, read under the lock.

use amp_wire::session::Stats;

use super::handle::Connection;

impl Connection {
    /// A snapshot of this connection's counters: calls and requests in
    /// flight, boxes and bytes each way, answers, errors by code, and why
    /// the connection ended once it has. See [`Stats`] for what each
    /// counts. Taking it costs one lock and a copy (the error-code tables
    /// are small and bounded).
    ///
    /// Still readable after the connection has ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{Command, Connection, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = SumResult)]
    /// struct Sum { a: i64, b: i64 }
    /// #[derive(Record)]
    /// struct SumResult { total: i64 }
    ///
    /// let (a, b) = tokio::io::duplex(4096);
    /// let server = Connection::spawn(a, Router::new().route(|s: Sum, _| async move {
    ///     Ok(SumResult { total: s.a + s.b })
    /// }));
    /// let client = Connection::spawn(b, Router::new());
    /// client.call(Sum { a: 1, b: 2 }).await.unwrap();
    /// let _ = client.call_raw("Nope", amp::AmpBox::new()).await.unwrap_err();
    ///
    /// let c = client.stats();
    /// assert_eq!((c.requests_sent, c.answers_received), (2, 1));
    /// assert_eq!(c.errors_received.get("UNHANDLED"), 1);
    /// assert_eq!(c.calls_in_flight, 0);
    ///
    /// let s = server.stats();
    /// assert_eq!((s.requests_received, s.answers_sent), (2, 1));
    /// assert_eq!(s.bytes_received, c.bytes_sent);
    ///
    /// client.close().await;
    /// server.closed().await;
    /// assert!(matches!(server.stats().end, Some(amp::Disconnect::PeerClosed)));
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared().with(|st| st.session.stats())
    }
}
