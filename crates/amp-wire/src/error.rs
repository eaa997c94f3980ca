//! Error types of the wire layer.

use bytes::Bytes;
use thiserror::Error;

/// Longest key AMP allows (bytes).
pub const MAX_KEY_LENGTH: usize = 255;
/// Longest value AMP allows (bytes).
pub const MAX_VALUE_LENGTH: usize = 65535;

/// A value or box could not be encoded. Always raised locally, before any
/// byte is written (Twisted's `TooLong` with `isLocal=True`, and the
/// `ValueError`s raised by its argument types).
///
/// ```
/// use amp_wire::{AmpBox, Context, EncodeError, FieldWriter};
///
/// let mut b = AmpBox::new();
/// b.insert("", "a key may not be empty");
/// assert!(matches!(b.to_bytes(), Err(EncodeError::BadKeyLength { len: 0, .. })));
///
/// // A value too long for AMP, named by its argument; nothing is written.
/// let mut out = bytes::BytesMut::new();
/// let mut w = FieldWriter::new(&mut out, &[]);
/// let err = w.put("text", &"x".repeat(70_000), &mut Context::none()).unwrap_err();
/// assert!(matches!(err, EncodeError::ValueTooLong { ref key, len: 70_000 } if key == "text"));
/// drop(w);
/// assert!(out.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A key is empty or longer than 255 bytes.
    #[error("AMP key of {len} bytes is not allowed (must be 1..=255): {key:?}")]
    BadKeyLength {
        /// The offending key (truncated to 300 bytes).
        key: Bytes,
        /// Its length.
        len: usize,
    },
    /// A value is longer than 65535 bytes.
    #[error("AMP value for key {key:?} is {len} bytes long (at most 65535 allowed)")]
    ValueTooLong {
        /// The key the value belongs to (empty when unknown, e.g. a list element).
        key: Bytes,
        /// Length of the value.
        len: usize,
    },
    /// A value cannot be represented in its AMP type (a naive date, a
    /// descriptor with no descriptor transport, ...).
    #[error("cannot encode {key:?}: {reason}")]
    Invalid {
        /// The key being encoded (empty when unknown).
        key: Bytes,
        /// What is wrong.
        reason: String,
    },
}

impl EncodeError {
    /// An [`EncodeError::Invalid`] with no key yet: what an
    /// [`Argument::encode`](crate::Argument::encode) of your own returns for
    /// a value its AMP type cannot carry.
    ///
    /// ```
    /// use amp_wire::EncodeError;
    /// let err = EncodeError::invalid("naive datetime");
    /// assert!(matches!(err, EncodeError::Invalid { ref key, .. } if key.is_empty()));
    /// ```
    pub fn invalid(reason: impl Into<String>) -> Self {
        EncodeError::Invalid {
            key: Bytes::new(),
            reason: reason.into(),
        }
    }

    /// Attach the key being encoded, if none is recorded yet.
    ///
    /// ```
    /// use amp_wire::EncodeError;
    /// let err = EncodeError::invalid("naive datetime").with_key("when");
    /// assert!(matches!(err, EncodeError::Invalid { ref key, .. } if key == "when"));
    /// // The innermost key is kept: an outer one does not replace it.
    /// let err = err.with_key("outer");
    /// assert!(matches!(err, EncodeError::Invalid { ref key, .. } if key == "when"));
    /// ```
    pub fn with_key(mut self, name: &'static str) -> Self {
        match &mut self {
            EncodeError::ValueTooLong { key, .. } | EncodeError::Invalid { key, .. }
                if key.is_empty() =>
            {
                *key = Bytes::from_static(name.as_bytes());
            }
            _ => {}
        }
        self
    }
}

/// A value in a received box could not be decoded into its Rust type.
///
/// ```
/// use amp_wire::{AmpBox, Argument, Context, DecodeError};
///
/// let b: AmpBox = [("n", "twelve")].into_iter().collect();
/// let mut cx = Context::none();
/// match i64::read_field(&b, "n", &mut cx) {
///     Err(DecodeError::Invalid { key, .. }) => assert_eq!(key, "n"),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(i64::read_field(&b, "m", &mut cx), Err(DecodeError::missing("m")));
/// assert_eq!(Option::<i64>::read_field(&b, "m", &mut cx), Ok(None)); // optional
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A required key is absent.
    #[error("missing required AMP argument {key:?}")]
    Missing {
        /// The missing key.
        key: Bytes,
    },
    /// A value is malformed for its type.
    #[error("invalid value for AMP argument {key:?}: {reason}")]
    Invalid {
        /// The key whose value is malformed (empty when unknown).
        key: Bytes,
        /// What is wrong.
        reason: String,
    },
    /// `ListOf`/`AmpList` values are nested deeper than the connection
    /// allows ([`Config::max_nesting`](crate::Config::max_nesting)).
    #[error("AMP argument {key:?} nests lists deeper than {limit} levels")]
    TooDeep {
        /// The top-level key being decoded (empty when unknown).
        key: Bytes,
        /// The nesting limit in force.
        limit: usize,
    },
}

impl DecodeError {
    /// A [`DecodeError::Invalid`] with no key yet: what an
    /// [`Argument::decode`](crate::Argument::decode) of your own returns for
    /// a malformed value (the caller adds the key).
    ///
    /// ```
    /// use amp_wire::DecodeError;
    /// let err = DecodeError::invalid("not a colour");
    /// assert!(matches!(err, DecodeError::Invalid { ref key, ref reason }
    ///     if key.is_empty() && reason == "not a colour"));
    /// ```
    pub fn invalid(reason: impl Into<String>) -> Self {
        DecodeError::Invalid {
            key: Bytes::new(),
            reason: reason.into(),
        }
    }

    /// A [`DecodeError::Missing`] for `key`.
    pub fn missing(key: &'static str) -> Self {
        DecodeError::Missing {
            key: Bytes::from_static(key.as_bytes()),
        }
    }

    /// Attach the key being decoded, if none is recorded yet.
    ///
    /// ```
    /// use amp_wire::DecodeError;
    /// let err = DecodeError::invalid("not a colour").with_key("fg");
    /// assert!(matches!(err, DecodeError::Invalid { ref key, .. } if key == "fg"));
    /// // A key already recorded stays.
    /// assert_eq!(DecodeError::missing("fg").with_key("other"), DecodeError::missing("fg"));
    /// ```
    pub fn with_key(mut self, name: &'static str) -> Self {
        match &mut self {
            DecodeError::Invalid { key, .. }
            | DecodeError::Missing { key }
            | DecodeError::TooDeep { key, .. }
                if key.is_empty() =>
            {
                *key = Bytes::from_static(name.as_bytes());
            }
            _ => {}
        }
        self
    }
}

/// The peer broke the AMP framing or dispatch rules. Receiving any of these
/// ends the connection, as it does in Twisted.
///
/// ```
/// use amp_wire::session::Session;
/// use amp_wire::{BoxDecoder, Config, Disconnect, ProtocolError};
/// use std::time::Instant;
///
/// // Found by the decoder, from a length prefix:
/// let mut buf = bytes::BytesMut::from(&b"\x01\x2c"[..]); // a key of 300 bytes
/// assert_eq!(BoxDecoder::new().decode(&mut buf), Err(ProtocolError::KeyTooLong { len: 300 }));
///
/// // Found by a session, which closes the connection with it:
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// s.feed(b"\x00\x01x\x00\x011\x00\x00", now); // not an answer, error or request
/// while s.poll_event(now).is_some() {}
/// assert!(matches!(
///     s.close_reason(),
///     Some(Disconnect::Protocol(ProtocolError::NotRouted { keys })) if keys == &["x"]
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The peer announced a key longer than 255 bytes (Twisted: `TooLong`,
    /// remote).
    #[error("peer sent an AMP key length of {len} (at most 255 allowed)")]
    KeyTooLong {
        /// The announced length.
        len: usize,
    },
    /// The stream ended in the middle of a box.
    #[error("connection closed in the middle of an AMP box ({buffered} bytes unparsed)")]
    TruncatedBox {
        /// How many bytes of the partial box were buffered.
        buffered: usize,
    },
    /// A box carried none of `_answer`, `_error`, `_command` (Twisted:
    /// `NoEmptyBoxes`).
    #[error("peer sent an AMP box with none of _answer, _error, _command: {keys:?}")]
    NotRouted {
        /// The keys the box did carry.
        keys: Vec<Bytes>,
    },
    /// A box named, in `_route`, a route not bound on this side (Epsilon's
    /// router fails with `KeyError` and the connection is dropped).
    #[error("peer sent an AMP box for unknown route {route:?}")]
    UnknownRoute {
        /// The route named.
        route: Bytes,
    },
    /// An answer or error box named a tag with no outstanding request.
    #[error("peer answered unknown AMP tag {tag:?}")]
    UnknownTag {
        /// The tag.
        tag: Bytes,
    },
    /// A box grew past the size this side accepts
    /// ([`Config::max_box_size`](crate::Config::max_box_size)); detected
    /// from the length prefixes, before the excess is buffered.
    #[error("peer sent an AMP box of more than {limit} bytes")]
    BoxTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// A box carried more entries than this side accepts
    /// ([`Config::max_box_entries`](crate::Config::max_box_entries)).
    #[error("peer sent an AMP box with more than {limit} entries")]
    TooManyEntries {
        /// The limit in force.
        limit: usize,
    },
    /// Bytes follow the one box a value or buffer should hold.
    #[error("{trailing} bytes after the end of an AMP box")]
    TrailingBytes {
        /// How many bytes follow the box.
        trailing: usize,
    },
    /// An `_error` box lacked `_error_code`.
    #[error("peer sent an AMP error box without _error_code (tag {tag:?})")]
    MissingErrorCode {
        /// The tag.
        tag: Bytes,
    },
}
