//! StartTLS on a connection: asking for it, and what it brings.

use amp_wire::session::Reply;

use super::errors::{reply_error, send_error};
use super::request::ReplyFuture;
use super::shared::ClientTls;
use super::Connection;
use crate::error::CallError;
use crate::starttls::StartTlsError;
use crate::tls::{CertificateDer, TlsOptions};

impl Connection {
    /// Secure the connection with TLS (Twisted's `StartTLS`), with
    /// `options` as this side's certificate and the authorities the peer's
    /// certificate must chain to (none: the peer is not verified).
    ///
    /// Boxes sent after this call are held back until TLS is up, then go
    /// over TLS. Resolves once the handshake is done; then
    /// [`Connection::peer_certificates`] has the peer's chain. If the peer
    /// refuses, AMP goes on in clear and you get its error; if the
    /// handshake fails (say the certificate does not verify) the
    /// connection closes with [`Disconnect::Tls`](crate::Disconnect::Tls)
    /// and nothing is left half-open. A second StartTLS fails with
    /// [`CallError::OnlyOneTls`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{tls::TlsOptions, Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// // The server presents a throwaway self-signed certificate.
    /// let server = Connection::spawn(a, Router::new().start_tls(TlsOptions::new()));
    /// let client = Connection::spawn(b, Router::new());
    /// client.start_tls(TlsOptions::new()).await.unwrap(); // anonymous: verifies nothing
    /// assert!(client.is_tls());
    /// assert_eq!(client.peer_certificates().unwrap().len(), 1);
    /// assert!(matches!(client.start_tls(TlsOptions::new()).await, Err(amp::CallError::OnlyOneTls)));
    /// # drop(server);
    /// # }
    /// ```
    pub async fn start_tls(&self, options: TlsOptions) -> Result<(), CallError<StartTlsError>> {
        let config = options.client_config().map_err(CallError::Tls)?;
        let tls = ClientTls {
            config,
            server_name: options.expected_server_name(),
        };
        let shared = self.shared();
        let tag = shared.with(|st| {
            st.session.check_start_tls()?;
            let tag = st.session.start_tls()?;
            st.tls_client = Some(tls);
            st.kick();
            Ok(tag)
        });
        let tag = tag.map_err(send_error)?;
        match ReplyFuture::new(shared, tag, false).await {
            Reply::Answer(_) => Ok(()),
            other => Err(reply_error(other, None)),
        }
    }

    /// Whether TLS is up on this connection (after StartTLS, either side).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{tls::TlsOptions, Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// let _server = Connection::spawn(a, Router::new().start_tls(TlsOptions::new()));
    /// let client = Connection::spawn(b, Router::new());
    /// assert!(!client.is_tls());
    /// client.start_tls(TlsOptions::new()).await.unwrap();
    /// assert!(client.is_tls());
    /// # }
    /// ```
    pub fn is_tls(&self) -> bool {
        self.shared().with(|st| st.peer_certificates.is_some())
    }

    /// The peer's certificate chain, once TLS is up (empty if the peer
    /// presented none); `None` before.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use amp::{tls::TlsOptions, Connection, Router};
    ///
    /// let (a, b) = tokio::io::duplex(64 * 1024);
    /// let _server = Connection::spawn(a, Router::new().start_tls(TlsOptions::new()));
    /// let client = Connection::spawn(b, Router::new());
    /// assert!(client.peer_certificates().is_none());
    /// client.start_tls(TlsOptions::new()).await.unwrap();
    /// // The server's throwaway self-signed certificate.
    /// assert_eq!(client.peer_certificates().unwrap().len(), 1);
    /// # }
    /// ```
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.shared().with(|st| st.peer_certificates.clone())
    }
}
