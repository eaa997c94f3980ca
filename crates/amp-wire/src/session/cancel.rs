//! Remote cancellation, opt-in on both sides: a caller that gives up a
//! call asks the peer to stop working on it.
//!
//! The caller sends `Cancel` with `tag` (the given-up call's `_ask`) and
//! **with `_ask`** of its own: a peer that does not know `Cancel` (a plain
//! Twisted peer) answers `UNHANDLED`, which is harmless, where a request
//! without `_ask` that fails makes Twisted close the connection. Replies
//! to both the given-up call and the `Cancel` are dropped quietly.
//!
//! A session that [`answers_cancel`](super::Session::answers_cancel) takes
//! `Cancel` itself, ahead of any waiting request: the request with that
//! tag, if still in flight (or waiting to start), is concluded with the
//! error `CANCELLED`, the driver is told to drop its responder
//! ([`Event::Cancel`](super::Event::Cancel)), and `Cancel` is answered
//! `cancelled: True` (or `False` when there was nothing to cancel: already
//! answered, or never seen). A negotiation being decided (a switch,
//! StartTLS) is not cancelled. Best effort: the responder may have
//! finished, or done its work, before the `Cancel` arrives.

mod exchange;

/// The cancellation command's name.
pub const CANCEL: &str = "Cancel";
/// Its argument: the tag of the call to cancel.
pub const CANCEL_TAG: &str = "tag";
/// Its answer's key: whether a request was cancelled (`True`/`False`).
pub const CANCELLED_KEY: &str = "cancelled";
/// The error code a cancelled request is concluded with.
pub const CANCELLED: &str = "CANCELLED";
const CANCELLED_DESCRIPTION: &str = "cancelled by the caller";
