//! TLS for StartTLS: certificates, authorities and rustls configuration.
