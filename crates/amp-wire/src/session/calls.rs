//! Our outstanding requests: tags, who waits for each, and the replies.

use bytes::Bytes;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::task::Waker;
use std::time::Instant;

use super::call_deadlines::{Deadline, Deadlines};
use super::Disconnect;
use crate::ambox::AmpBox;

/// What a call of ours got back.
///
/// ```
/// use amp_wire::session::{Reply, Session};
/// use amp_wire::{AmpBox, Config, Disconnect};
/// use std::task::{Poll, Waker};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Config::default(), now);
/// let first = s.call(b"Divide", |w| w.put_raw(b"denominator", b"0")).unwrap();
/// let second = s.call(b"Divide", |w| w.put_raw(b"denominator", b"2")).unwrap();
/// assert!(s.poll_reply(first, Waker::noop()).is_pending());
///
/// let error: AmpBox = [
///     ("_error", "1"),
///     ("_error_code", "ZERO_DIVISION"),
///     ("_error_description", "by zero"),
/// ]
/// .into_iter()
/// .collect();
/// s.feed(&error.to_bytes().unwrap(), now);
/// while s.poll_event(now).is_some() {}
/// match s.poll_reply(first, Waker::noop()) {
///     Poll::Ready(Reply::Error { code, description }) => {
///         assert_eq!((&code[..], description.as_str()), (&b"ZERO_DIVISION"[..], "by zero"));
///     }
///     other => panic!("{other:?}"),
/// }
/// s.close(now); // before the second answer came
/// assert!(matches!(
///     s.poll_reply(second, Waker::noop()),
///     Poll::Ready(Reply::Lost(Disconnect::LocalClose))
/// ));
/// ```
#[derive(Debug, Clone)]
pub enum Reply {
    /// The answer box (with its `_answer` key).
    Answer(AmpBox),
    /// An error box.
    Error {
        /// `_error_code`.
        code: Bytes,
        /// `_error_description`, decoded as UTF-8 with replacement.
        description: String,
    },
    /// The connection ended (or switched) before the answer came.
    Lost(Disconnect),
    /// The call's deadline ([`Session::set_call_deadline`](super::Session::set_call_deadline))
    /// passed before its reply came: the call is given up (a late answer is
    /// dropped quietly).
    TimedOut,
}

/// What a tag was used for (it decides what its answer does).
pub(crate) use crate::describe::CommandKind;

#[derive(Debug)]
enum Slot {
    /// No reply yet; the waker is woken when one comes.
    Waiting(Option<Waker>),
    /// Replied; kept until the caller takes it.
    Ready(Reply),
    /// The caller of a switch or StartTLS gave up: its answer still
    /// decides what the connection does, so the call stays until it
    /// comes. (An abandoned plain call leaves the table for [`Late`].)
    Abandoned,
}

#[derive(Debug)]
struct Call {
    kind: CommandKind,
    slot: Slot,
}

/// Twisted's tags: a per-connection counter from 1, in lower-case hex.
#[derive(Debug)]
pub(crate) struct Calls {
    counter: u64,
    table: FxHashMap<u64, Call>,
    /// Calls whose reply has not come (waiting or abandoned).
    unanswered: usize,
    /// Tags of plain calls given up before their answer came.
    late: Late,
    /// Deadlines of calls, earliest first (see `call_deadlines.rs`).
    deadlines: Deadlines,
}

/// The tags of calls given up (dropped or timed out) whose answer may
/// still come: it is dropped quietly, where an answer to a tag we never
/// used closes the connection (Twisted's rule). The most recent
/// `capacity` are remembered exactly; older ones only as "at or below
/// `below`", so the memory stays bounded whatever the peer does.
#[derive(Debug)]
struct Late {
    tags: FxHashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
    /// Every tag given up and then evicted is at or below this.
    below: u64,
}

impl Late {
    fn remember(&mut self, tag: u64) {
        if self.tags.len() >= self.capacity {
            while let Some(old) = self.order.pop_front() {
                if self.tags.remove(&old) {
                    self.below = self.below.max(old);
                    break;
                }
            }
        }
        self.tags.insert(tag);
        self.order.push_back(tag);
    }

    /// Whether `tag` is one given up (forgotten now if it was
    /// remembered exactly).
    fn take(&mut self, tag: u64) -> bool {
        if self.tags.remove(&tag) {
            if self.order.len() > 2 * self.tags.len() + 16 {
                let tags = &self.tags;
                self.order.retain(|t| tags.contains(t));
            }
            return true;
        }
        tag <= self.below
    }
}

impl Calls {
    /// No calls yet; up to `late_capacity` given-up tags are remembered
    /// exactly.
    pub(crate) fn new(late_capacity: usize) -> Self {
        Calls {
            counter: 0,
            table: FxHashMap::default(),
            unanswered: 0,
            late: Late {
                tags: FxHashSet::default(),
                order: VecDeque::new(),
                capacity: late_capacity.max(1),
                below: 0,
            },
            deadlines: Deadlines::default(),
        }
    }

    /// Use the next tag number (a no-answer request uses one too, as in
    /// Twisted).
    pub(crate) fn next_tag(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The tag the next [`Calls::next_tag`] returns.
    pub(crate) fn peek_tag(&self) -> u64 {
        self.counter + 1
    }

    pub(crate) fn register(&mut self, tag: u64, kind: CommandKind) {
        self.table.insert(
            tag,
            Call {
                kind,
                slot: Slot::Waiting(None),
            },
        );
        self.unanswered += 1;
    }

    /// Calls still waiting for a reply (abandoned ones included: their
    /// answer is still due).
    pub(crate) fn unanswered(&self) -> usize {
        self.unanswered
    }

    /// The kind of the unanswered call `tag`, if it is one.
    pub(crate) fn kind_of(&self, tag: u64) -> Option<CommandKind> {
        match self.table.get(&tag) {
            Some(Call {
                kind,
                slot: Slot::Waiting(_) | Slot::Abandoned,
            }) => Some(*kind),
            _ => None,
        }
    }

    /// Store the reply to `tag` (which must be unanswered) and wake its
    /// caller; an abandoned call is forgotten.
    pub(crate) fn resolve(&mut self, tag: u64, reply: Reply, wake: &mut Vec<Waker>) {
        let Some(call) = self.table.get_mut(&tag) else {
            return;
        };
        match std::mem::replace(&mut call.slot, Slot::Ready(reply)) {
            Slot::Waiting(w) => {
                self.unanswered -= 1;
                wake.extend(w);
            }
            Slot::Abandoned => {
                self.unanswered -= 1;
                self.table.remove(&tag);
            }
            Slot::Ready(r) => call.slot = Slot::Ready(r),
        }
        self.skip_stale_deadlines();
    }

    /// Fail every unanswered call with `reason` (the connection ended, or
    /// switched). `except`: a call left waiting (the switch being handed
    /// over).
    pub(crate) fn fail_all(
        &mut self,
        reason: &Disconnect,
        except: Option<u64>,
        wake: &mut Vec<Waker>,
    ) {
        let unanswered: Vec<u64> = self
            .table
            .iter()
            .filter(|(t, c)| !matches!(c.slot, Slot::Ready(_)) && Some(**t) != except)
            .map(|(t, _)| *t)
            .collect();
        for tag in unanswered {
            self.resolve(tag, Reply::Lost(reason.clone()), wake);
        }
        self.deadlines.clear();
    }

    /// The caller of `tag` polls: its reply if there is one (the tag is
    /// then forgotten), else `waker` is kept to be woken.
    pub(crate) fn poll(&mut self, tag: u64, waker: &Waker) -> Option<Reply> {
        let call = self.table.get_mut(&tag)?;
        match &mut call.slot {
            Slot::Waiting(w) => {
                match w {
                    Some(old) if old.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                None
            }
            Slot::Ready(_) => match self.table.remove(&tag) {
                Some(Call {
                    slot: Slot::Ready(r),
                    ..
                }) => Some(r),
                _ => None,
            },
            Slot::Abandoned => None,
        }
    }

    /// Whether `tag` is unknown (never registered, or already taken).
    pub(crate) fn is_gone(&self, tag: u64) -> bool {
        !self.table.contains_key(&tag)
    }

    /// The caller of `tag` gave up. A plain call is forgotten (its
    /// answer, if it comes, is dropped quietly: see [`Late`]); a switch or
    /// StartTLS stays until its answer, which still decides what the
    /// connection does.
    /// Returns whether it was a plain call still waiting for its reply
    /// (one a remote cancellation can still stop).
    pub(crate) fn abandon(&mut self, tag: u64) -> bool {
        let Some(call) = self.table.get_mut(&tag) else {
            return false;
        };
        match (call.kind, &call.slot) {
            (CommandKind::Plain, Slot::Waiting(_)) => {
                self.table.remove(&tag);
                self.unanswered -= 1;
                self.late.remember(tag);
                self.skip_stale_deadlines();
                return true;
            }
            (_, Slot::Waiting(_)) => call.slot = Slot::Abandoned,
            (_, Slot::Ready(_)) => {
                self.table.remove(&tag);
            }
            (_, Slot::Abandoned) => {}
        }
        false
    }

    /// The deadline of the plain call `tag`, still waiting, passed: its
    /// caller gets [`Reply::TimedOut`], and its tag is given up like an
    /// abandoned call's (a late answer is dropped quietly). Returns
    /// whether it was such a call.
    pub(crate) fn time_out(&mut self, tag: u64, wake: &mut Vec<Waker>) -> bool {
        let Some(call) = self.table.get_mut(&tag) else {
            return false;
        };
        if call.kind != CommandKind::Plain || !matches!(call.slot, Slot::Waiting(_)) {
            return false;
        }
        if let Slot::Waiting(w) = std::mem::replace(&mut call.slot, Slot::Ready(Reply::TimedOut)) {
            wake.extend(w);
        }
        self.unanswered -= 1;
        self.late.remember(tag);
        true
    }

    /// Whether `tag` is a plain call of ours still waiting for its reply.
    pub(crate) fn is_plain_waiting(&self, tag: u64) -> bool {
        plain_waiting(&self.table, tag)
    }

    /// The earliest deadline of a call still waiting.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.next()
    }

    /// Queue a deadline; the queue holds at most about twice the calls
    /// unanswered.
    pub(crate) fn add_deadline(&mut self, d: Deadline) {
        let table = &self.table;
        let keep = 2 * self.unanswered + 16;
        self.deadlines.add(d, keep, |tag| plain_waiting(table, tag));
    }

    /// Drop the deadlines at the front whose call no longer waits (called
    /// whenever a call is answered, fails or is given up): the front is
    /// always a call still waiting.
    pub(crate) fn skip_stale_deadlines(&mut self) {
        let table = &self.table;
        self.deadlines.skip_stale(|tag| plain_waiting(table, tag));
    }

    /// The earliest deadline, if it is at or before `now` (taken out).
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<Deadline> {
        self.deadlines.take_due(now)
    }

    /// How many deadlines are queued (for tests).
    #[cfg(test)]
    pub(crate) fn deadlines_queued(&self) -> usize {
        self.deadlines.len()
    }

    /// Use a tag for a request whose reply nobody waits for (a remote
    /// cancellation): its reply is dropped quietly.
    pub(crate) fn fire_and_forget(&mut self) -> u64 {
        let tag = self.next_tag();
        self.late.remember(tag);
        tag
    }

    /// Whether `tag`, which no call waits for, is one of ours given up:
    /// its answer is then dropped quietly.
    pub(crate) fn is_late(&mut self, tag: u64) -> bool {
        tag <= self.counter && self.late.take(tag)
    }

    /// How many given-up tags are remembered exactly (for tests).
    #[cfg(test)]
    pub(crate) fn late_remembered(&self) -> usize {
        self.late.tags.len()
    }

    /// Whether the caller of `tag` still waits for it.
    pub(crate) fn is_waited_for(&self, tag: u64) -> bool {
        matches!(
            self.table.get(&tag),
            Some(Call {
                slot: Slot::Waiting(_),
                ..
            })
        )
    }
}

/// Whether `tag` is a plain call in `table` still waiting for its reply.
fn plain_waiting(table: &FxHashMap<u64, Call>, tag: u64) -> bool {
    matches!(
        table.get(&tag),
        Some(Call {
            kind: CommandKind::Plain,
            slot: Slot::Waiting(_),
        })
    )
}

/// Lower-case hex with no padding, as Twisted writes tags; `buf` holds the
/// digits.
pub(crate) fn format_tag(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
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
pub(crate) fn parse_tag(t: &[u8]) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_only_canonical_ones_parse() {
        let mut buf = [0u8; 16];
        for n in [1u64, 9, 10, 15, 16, 255, 4096, u64::MAX] {
            assert_eq!(parse_tag(format_tag(n, &mut buf)), Some(n));
        }
        assert_eq!(format_tag(26, &mut buf), b"1a");
        for bad in [&b""[..], b"01", b"A", b"-1", b"12345678901234567"] {
            assert_eq!(parse_tag(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_abandoned_call_is_forgotten_and_its_tag_is_late() {
        let mut c = Calls::new(8);
        let t = c.next_tag();
        c.register(t, CommandKind::Plain);
        c.abandon(t);
        assert_eq!(c.unanswered(), 0);
        assert!(c.is_gone(t));
        assert!(c.is_late(t), "its answer is dropped quietly");
        let never = c.peek_tag();
        assert!(!c.is_late(never), "a tag never used is not late");
    }

    #[test]
    fn an_abandoned_negotiation_waits_for_its_answer() {
        let mut c = Calls::new(8);
        let t = c.next_tag();
        c.register(t, CommandKind::Switch);
        c.abandon(t);
        assert_eq!(c.unanswered(), 1);
        assert_eq!(c.kind_of(t), Some(CommandKind::Switch));
        let mut wake = Vec::new();
        c.resolve(t, Reply::Answer(AmpBox::new()), &mut wake);
        assert_eq!(c.unanswered(), 0);
        assert!(c.is_gone(t));
    }

    #[test]
    fn given_up_tags_take_bounded_memory_and_stay_late() {
        let cap = 16;
        let mut c = Calls::new(cap);
        let mut tags = Vec::new();
        for _ in 0..10_000 {
            let t = c.next_tag();
            c.register(t, CommandKind::Plain);
            c.abandon(t);
            tags.push(t);
            assert!(c.late_remembered() <= cap);
            assert!(c.late.order.len() <= 2 * cap + 16);
        }
        // The oldest (evicted) and the newest (remembered) are both late.
        assert!(c.is_late(tags[0]));
        assert!(c.is_late(tags[9_999]));
        assert!(!c.is_late(c.peek_tag()));
    }
}
