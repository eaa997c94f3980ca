//! The caller's [`CallError`] for a request the session refused, a
//! request not sent in time, or a reply that is not an answer.

use std::sync::Arc;
use std::time::Duration;

use amp_wire::session::{Reply, SendError};
use amp_wire::{Disconnect, ErrorTable};

use super::request::NotSent;
use crate::error::CallError;

/// The caller's error for a request the session refused.
pub(crate) fn send_error<E>(e: SendError) -> CallError<E> {
    match e {
        SendError::Switched => CallError::ProtocolSwitched,
        SendError::OnlyOneTls => CallError::OnlyOneTls,
        SendError::Closed(d) => CallError::ConnectionLost(d),
        SendError::Encode(e) => CallError::Encode(e),
        other => CallError::ConnectionLost(Disconnect::Io(Arc::new(std::io::Error::other(
            other.to_string(),
        )))),
    }
}

/// The caller's error for a request not sent (`limit`: its time limit).
pub(crate) fn not_sent<E>(e: NotSent, limit: Option<Duration>) -> CallError<E> {
    match e {
        NotSent::Refused(e) => send_error(e),
        NotSent::TimedOut => CallError::Timeout(limit.unwrap_or_default()),
    }
}

/// The caller's error for a reply that is not an answer (`limit`: the
/// call's time limit).
pub(crate) fn reply_error<E: ErrorTable>(r: Reply, limit: Option<Duration>) -> CallError<E> {
    match r {
        Reply::TimedOut => CallError::Timeout(limit.unwrap_or_default()),
        Reply::Error { code, description } => {
            tracing::debug!(code = %amp_wire::display_bytes(&code), "error answer");
            CallError::from_wire(code, description)
        }
        Reply::Lost(d) => CallError::ConnectionLost(d),
        Reply::Answer(_) => {
            CallError::BadResponse(amp_wire::DecodeError::invalid("unexpected answer"))
        }
    }
}
