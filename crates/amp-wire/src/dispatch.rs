//! Ask/answer bookkeeping as a state machine (no I/O).
//!
//! [`Dispatcher`] turns outgoing calls into request boxes with fresh tags,
//! and classifies every received box (Twisted's `BoxDispatcher`): an answer
//! or error for one of our requests, or a request for us. The runtime owns
//! one per connection and does all the I/O.

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;

use crate::ambox::AmpBox;
use crate::error::ProtocolError;

/// Reserved key: the command name of a request.
pub const COMMAND: &str = "_command";
/// Reserved key: the tag of a request that wants an answer.
pub const ASK: &str = "_ask";
/// Reserved key: the tag an answer replies to.
pub const ANSWER: &str = "_answer";
/// Reserved key: the tag an error replies to.
pub const ERROR: &str = "_error";
/// Reserved key: the error code.
pub const ERROR_CODE: &str = "_error_code";
/// Reserved key: the error description.
pub const ERROR_DESCRIPTION: &str = "_error_description";
/// Error code for a command with no responder.
pub const UNHANDLED: &str = "UNHANDLED";
/// Error code for any undeclared failure.
pub const UNKNOWN: &str = "UNKNOWN";
/// Description sent with `UNKNOWN`.
pub const UNKNOWN_DESCRIPTION: &str = "Unknown Error";

/// What a received box means.
#[derive(Debug)]
pub enum Incoming<T> {
    /// An answer to one of our requests.
    Answer {
        /// What the caller registered with [`Dispatcher::ask`].
        pending: T,
        /// The answer box (including `_answer`).
        body: AmpBox,
    },
    /// An error reply to one of our requests.
    Error {
        /// What the caller registered with [`Dispatcher::ask`].
        pending: T,
        /// `_error_code`.
        code: Bytes,
        /// `_error_description`, decoded as UTF-8 with replacement.
        description: String,
    },
    /// A request from the peer.
    Request {
        /// `_command`.
        name: Bytes,
        /// `_ask`, or `None` for a request that wants no answer.
        tag: Option<Bytes>,
        /// The whole box (arguments plus reserved keys).
        args: AmpBox,
    },
}

/// Per-connection request bookkeeping. `T` is whatever the runtime needs to
/// complete a call (a channel sender, a waker, ...).
#[derive(Debug)]
pub struct Dispatcher<T> {
    counter: u64,
    outstanding: HashMap<u64, T>,
}

impl<T> Default for Dispatcher<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Lower-case hex with no padding, as Twisted writes tags.
pub fn format_tag(n: u64) -> Bytes {
    let mut buf = [0u8; 16];
    Bytes::copy_from_slice(hex_tag(n, &mut buf))
}

/// Write `n` as a tag into `buf` without allocating.
fn hex_tag(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Parse a tag this side could have written (canonical lower-case hex).
fn parse_tag(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 16 || (t.len() > 1 && t[0] == b'0') {
        return None;
    }
    let mut n = 0u64;
    for &c in t {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        n = (n << 4) | d as u64;
    }
    Some(n)
}

impl<T> Dispatcher<T> {
    /// No outstanding requests; the first tag will be `1`.
    pub fn new() -> Self {
        Dispatcher {
            counter: 0,
            outstanding: HashMap::new(),
        }
    }

    /// Number of requests awaiting an answer.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Turn `args` into a request for command `name` wanting an answer;
    /// `pending` is handed back when the answer arrives.
    pub fn ask(&mut self, name: Bytes, mut args: AmpBox, pending: T) -> (u64, AmpBox) {
        self.counter += 1;
        let tag = self.counter;
        args.insert(COMMAND, name);
        args.insert(ASK, format_tag(tag));
        self.outstanding.insert(tag, pending);
        (tag, args)
    }

    /// Like [`Dispatcher::ask`], but write the request straight into `dst`
    /// (no intermediate box). `args` and `name` must already be checked
    /// against AMP's limits ([`AmpBox::validate`]).
    pub fn ask_into(&mut self, name: &[u8], args: &AmpBox, pending: T, dst: &mut BytesMut) -> u64 {
        self.counter += 1;
        let tag = self.counter;
        let mut buf = [0u8; 16];
        let t = hex_tag(tag, &mut buf);
        args.encode_with_unchecked(&[(ASK.as_bytes(), t), (COMMAND.as_bytes(), name)], dst);
        self.outstanding.insert(tag, pending);
        tag
    }

    /// Like [`Dispatcher::notify`], but write the request straight into
    /// `dst`.
    pub fn notify_into(&mut self, name: &[u8], args: &AmpBox, dst: &mut BytesMut) {
        self.counter += 1;
        args.encode_with_unchecked(&[(COMMAND.as_bytes(), name)], dst);
    }

    /// Turn `args` into a request that wants no answer. Like Twisted, this
    /// still consumes a tag number.
    pub fn notify(&mut self, name: Bytes, mut args: AmpBox) -> AmpBox {
        self.counter += 1;
        args.insert(COMMAND, name);
        args
    }

    /// Forget a request (it was cancelled or could not be sent); returns
    /// what was registered. An answer arriving later for this tag is then a
    /// protocol error, so only use this before the request was written or
    /// when the connection is closing.
    pub fn forget(&mut self, tag: u64) -> Option<T> {
        self.outstanding.remove(&tag)
    }

    /// Take every outstanding request (the connection is closing).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.outstanding.drain().map(|(_, v)| v)
    }

    /// Classify a received box. An error means the connection must close.
    pub fn receive(&mut self, b: AmpBox) -> Result<Incoming<T>, ProtocolError> {
        if let Some(tag) = b.get(ANSWER) {
            let pending = self.take(tag)?;
            return Ok(Incoming::Answer { pending, body: b });
        }
        if let Some(tag) = b.get(ERROR) {
            let tag = tag.clone();
            let code = b
                .get(ERROR_CODE)
                .cloned()
                .ok_or_else(|| ProtocolError::MissingErrorCode { tag: tag.clone() })?;
            let pending = self.take(&tag)?;
            let description = b
                .get(ERROR_DESCRIPTION)
                .map(|d| String::from_utf8_lossy(d).into_owned())
                .unwrap_or_default();
            return Ok(Incoming::Error {
                pending,
                code,
                description,
            });
        }
        if let Some(name) = b.get(COMMAND) {
            return Ok(Incoming::Request {
                name: name.clone(),
                tag: b.get(ASK).cloned(),
                args: b,
            });
        }
        Err(ProtocolError::NotRouted {
            keys: b.keys().cloned().collect(),
        })
    }

    fn take(&mut self, tag: &Bytes) -> Result<T, ProtocolError> {
        parse_tag(tag)
            .and_then(|n| self.outstanding.remove(&n))
            .ok_or_else(|| ProtocolError::UnknownTag { tag: tag.clone() })
    }
}

/// The answer box for request `tag`: the response fields plus `_answer`.
pub fn answer_box(tag: Bytes, mut response: AmpBox) -> AmpBox {
    response.insert(ANSWER, tag);
    response
}

/// Write the answer to request `tag` straight into `dst`: `response`'s
/// fields plus `_answer`. `response` must already be validated.
pub fn write_answer(tag: &[u8], response: &AmpBox, dst: &mut BytesMut) {
    response.encode_with_unchecked(&[(ANSWER.as_bytes(), tag)], dst);
}

/// The error box for request `tag`.
pub fn error_box(tag: Bytes, code: impl Into<Bytes>, description: impl Into<Bytes>) -> AmpBox {
    let mut b = AmpBox::with_capacity(3);
    b.insert(ERROR, tag);
    b.insert(ERROR_CODE, code.into());
    b.insert(ERROR_DESCRIPTION, description.into());
    b
}

/// Twisted's description for an unhandled command: `Unhandled Command: b'NAME'`.
pub fn unhandled_description(name: &[u8]) -> String {
    format!("Unhandled Command: {}", python_bytes_repr(name))
}

/// Python's `repr()` of a `bytes` object.
pub fn python_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}
