//! What the tracing spans of a connection carry beyond the command: the
//! peer's address and, for our calls, the tag (known once the request is
//! written). Both are recorded lazily: with tracing off, the span is
//! disabled and nothing is formatted or allocated.

use tracing::field::{display, DisplayValue};
use tracing::Span;

use crate::addr::Addr;

/// The `peer` field: the peer's address if known (no field otherwise).
pub(crate) fn peer(addr: Option<&Addr>) -> Option<DisplayValue<&Addr>> {
    addr.map(display)
}

/// Record our call's `tag` (as written on the wire, lower-case hex) on
/// `span`, which declares it `tracing::field::Empty`.
pub(crate) fn record_tag(span: &Span, tag: u64) {
    if !span.is_disabled() {
        span.record("tag", display(format_args!("{tag:x}")));
    }
}

/// The span of one of our requests on connection `$conn`: `$name` with
/// the `command` field given, the peer, and an empty `tag` for
/// [`record_tag`].
macro_rules! request_span {
    ($name:literal, $conn:expr, command = $($command:tt)+) => {
        tracing::debug_span!(
            $name,
            command = $($command)+,
            tag = tracing::field::Empty,
            peer = $crate::connection::spans::peer($conn.peer_addr()),
        )
    };
}
pub(crate) use request_span;
