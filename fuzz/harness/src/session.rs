//! `session`: the whole [`Session`] driven by an arbitrary script.
//!
//! The input is read with [`arbitrary`]: a [`Header`] (mode and two
//! configurations), then [`Op`]s until the input ends. Two modes:
//!
//! * **solo**: one session; the peer is the script itself, which pushes
//!   arbitrary bytes and well-formed boxes (requests with or without
//!   `_ask`, `StartTLS` and switch requests, answers and errors for the
//!   tags this side used or others, boxes with no routing key) that are
//!   then delivered in fuzzed amounts;
//! * **pair**: two sessions wired to each other (what one transmits, the
//!   other reads), both driven by an honest driver, so that the deeper
//!   paths (StartTLS and switches agreed on both sides, hand-overs,
//!   graceful shutdowns, answers to our own calls) are reached.
//!
//! **Format 2** (bit 1 of the first byte set; format 1 inputs, whose
//! first byte is 0 or 1 in practice, keep their meaning): the header is
//! followed by an [`Ext`] (each side's keepalive settings: interval and
//! timeout in units of 50 ms, the command; settings the builder must
//! refuse are tried too, and leave keepalive off), and every step starts
//! with a selector byte: from 0xc0 it is an [`XOp`] (route binding with
//! fuzzed local and remote names, edge cases included, and filling the
//! table to `MAX_ROUTES`; `call_on`/`notify_on`; scripted peer boxes
//! carrying `_route` (bound, unknown, empty, on answers, errors, StartTLS
//! and switch requests); replies to the last keepalive ping; small clock
//! steps and steps to a side's next deadline), else an [`Op`]. In pair
//! mode a route is bound on both sides mirrored (`local` → `remote` on one,
//! `remote` → `local` on the other) or on neither, so the route traffic is
//! valid; a keepalive command the other side negotiates on (`StartTLS`,
//! `Switch`) is replaced by the default, since an honest configuration does
//! not ping with it.
//!
//! Either way the driver moves bytes in fuzzed amounts (`feed`, or
//! `take_input`/`handle_input`), makes calls, notifies, switches and
//! StartTLS requests, concludes the requests it was given (answer, fail,
//! fail_unknown, unhandled, accept_switch, accept_start_tls), transmits
//! output in fuzzed amounts, moves a fake clock and handles timeouts,
//! completes or fails TLS handshakes, hands over, reports end of stream,
//! closes, shuts down, aborts and finishes, polls replies and abandons
//! calls. After every step it polls every event and checks:
//!
//! * nothing panics, and `poll_event` ends (no endless event stream);
//! * the read buffer, when the session wants to read, holds less than
//!   `max_box_size` bytes (so it never holds more than that plus the
//!   last chunk read);
//! * once `is_closed()`, it stays closed; the end is told as events,
//!   each once, `Over` first and `Closed` last (nothing after it), each
//!   when its predicate holds, and all that is due is told by the end of
//!   a drain (`Closed` after a switch only once `handed_over` was called);
//! * `in_flight()` never exceeds `max_in_flight` (nor the requests given
//!   out and not concluded);
//! * no reply is delivered twice for one tag, none after the tag was
//!   abandoned, and once delivered a tag only ever gives `Lost`; an
//!   unknown tag gives `Lost` at once;
//! * tags are Twisted's counter: each request (notify included) uses the
//!   next one, and a refused or unencodable request uses none;
//! * what the session transmits is well-formed AMP: whole boxes; requests
//!   carry the tags and names of our calls, in order; every `_answer` or
//!   `_error` answers a tag the peer asked, never more often than it was
//!   asked; nothing is transmitted during a TLS handshake or after a
//!   hand-over;
//! * the `check_*` methods agree with what `call`, `switch` and
//!   `start_tls` then do; each phase change follows the module's table for
//!   the operations checked (switch, start_tls, accept_*, close, abort,
//!   shutdown, tls_established, handed_over, conclusions of a
//!   negotiation);
//! * `handle_timeout` before `poll_timeout` changes nothing, and at or
//!   after it makes progress (a driver does not spin);
//! * `poll_writable` is ready exactly when `writable()` (or AMP is over);
//! * our requests are transmitted in the order written, each with its
//!   `_ask` (none for a notification), command and `_route` (the remote
//!   name of the route it was made on; none on the default conversation;
//!   a `Cancel` goes on its call's route); every `_route` on an answer or
//!   error is a bound remote name;
//! * routes: `bind_route` returns exactly what its rules say (`TooLong`
//!   past 65,535 bytes, the same pair again is `Ok`, another remote is
//!   `Bound` with the one bound, `TooMany` past `MAX_ROUTES`), a refused
//!   bind changes nothing, and `routes_bound`/`route_remote` agree; a
//!   call on a route not bound is refused with `SendError::Encode` and uses
//!   no tag; a request's `route` is a local name bound here, its `_route`
//!   key is taken out, and it is always `Plain` (never a negotiation);
//! * keepalive: a ping is sent only with keepalive on, while our boxes are
//!   not held, at least the interval after the last byte given to the
//!   session; before the first ping, while the session reads, the next
//!   deadline is never later than the interval after the later of the last
//!   byte given and the `handle_timeout` that found reading resumed
//!   (keepalive's clock stands still while the session does not read, and
//!   starts over when it reads again; nothing else puts it off); a
//!   ping is the configured command with `_ask` and nothing else, on the
//!   default conversation, and takes the next tag; its reply (on the
//!   default conversation only) reaches no caller (an answer to a call is
//!   that call's own `_answer`); the
//!   connection ends with `Timeout::Keepalive` only with a ping sent and no
//!   reply to it given to the session while it was reading (and not stuck
//!   behind a negotiation request read with it: see `Side::check`), and
//!   neither a ping nor that timeout comes while the session does not read;
//!   the builder refuses the reserved commands (`StartTLS`, `Cancel`);
//! * every call resolves: once closing no call is left waiting, and at the
//!   end of the script every call of a closed (or handed-over) session
//!   gives a reply;
//! * in pair mode: every answer to a call carries the call's own id; a
//!   TLS handshake starts on both sides with nothing left on the wire; a
//!   hand-over has no buffered bytes; and no session ever blames the other
//!   for a protocol violation (unknown tags, unrouted boxes, missing error
//!   codes, plaintext before TLS, unknown routes), except for the limits
//!   of its own configuration and a box cut by the other side's abort;
//!   every request comes on the route the peer called it on (argument `v`
//!   names it), and a request with `_ask` but no call id is the other
//!   side's ping (its command alone, on no route) or a negotiation.

use amp_wire::session::{Event, Phase, Reply, Request, CommandKind, Role, SendError, Session};
use amp_wire::session::{RouteError, MAX_ROUTES};
use amp_wire::{AmpBox, Config, ConfigBuilder, Disconnect, ProtocolError, Timeout};
use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::ref_parse;

/// The configuration of one side.
#[derive(Arbitrary, Debug)]
pub struct Cfg {
    small: bool,
    box_size: u16,
    entries: u8,
    nesting: u8,
    in_flight: u8,
    high_water: u16,
    held: u16,
    /// Bits: 0-3 turn off the first box, box, write, TLS handshake
    /// timeouts; 4 turns the idle timeout on; 5 makes them all short.
    timeouts: u8,
    tls: bool,
    switch: bool,
}

impl Cfg {
    fn builder(&self) -> ConfigBuilder {
        let mut b = Config::builder();
        if self.small {
            b = b
                .max_box_size(256 + self.box_size as usize % 1793)
                .max_box_entries(1 + self.entries as usize % 32)
                .max_nesting(1 + self.nesting as usize % 8)
                .max_in_flight(1 + self.in_flight as usize % 8)
                .write_high_water(1 + self.high_water as usize % 4096)
                .max_held(1 + self.held as usize % 4096);
        }
        let t = self.timeouts;
        let secs = |long: u64| {
            Some(Duration::from_secs(if t & 32 != 0 {
                1 + long / 10
            } else {
                long
            }))
        };
        let on = |bit: u8, long: u64| {
            if t & (1 << bit) != 0 {
                None
            } else {
                secs(long)
            }
        };
        b.first_box_timeout(on(0, 30))
            .box_timeout(on(1, 30))
            .write_timeout(on(2, 30))
            .tls_handshake_timeout(on(3, 10))
            .idle_timeout(if t & 16 != 0 { secs(60) } else { None })
    }

    /// The configuration with keepalive as `keep` says, if the builder
    /// accepts it (it must refuse exactly the settings its rules refuse;
    /// a refused one leaves keepalive off). `peer_negotiates`: the names
    /// the other session negotiates on (pair mode), which an honest
    /// configuration does not ping with.
    fn config(&self, keep: &Keep, peer_negotiates: &[&[u8]]) -> Config {
        let base = self.builder();
        let plain = || base.clone().build().expect("a valid configuration");
        if keep.interval.is_none()
            && keep.timeout.is_none()
            && matches!(keep.command, KeepCmd::Default)
        {
            return plain();
        }
        let unit = |u: u8| Duration::from_millis(u as u64 * KEEP_UNIT_MS);
        let interval = keep.interval.map(unit);
        let mut b = base.clone().keepalive_interval(interval);
        let timeout = match keep.timeout {
            None => Some(Duration::from_secs(20)), // the default
            Some(t) => {
                let t = t.map(unit);
                b = b.keepalive_timeout(t);
                t
            }
        };
        let mut command = keep.command.name();
        if peer_negotiates.contains(&command.as_bytes()) {
            command = amp_wire::DEFAULT_KEEPALIVE_COMMAND.to_owned();
        }
        if !matches!(keep.command, KeepCmd::Default) {
            b = b.keepalive_command(command.clone());
        }
        // The builder's rules, in its order.
        let refused = if interval == Some(Duration::ZERO) {
            Some("keepalive_interval")
        } else if timeout == Some(Duration::ZERO) || (interval.is_some() && timeout.is_none()) {
            Some("keepalive_timeout")
        } else if command.is_empty()
            || command.len() > amp_wire::MAX_VALUE_LENGTH
            || amp_wire::RESERVED_COMMANDS.contains(&command.as_str())
        {
            Some("keepalive_command")
        } else {
            None
        };
        match (b.build(), refused) {
            (Ok(c), None) => {
                if interval.is_some() {
                    count(C::keepalive_on);
                }
                assert_eq!(c.keepalive_interval(), interval);
                assert_eq!(c.keepalive_timeout(), timeout);
                assert_eq!(c.keepalive_command(), command);
                c
            }
            (Err(e), Some(setting)) => {
                count(C::keepalive_refused);
                assert_eq!(e.setting(), setting, "{e}");
                plain()
            }
            (r, want) => panic!("keepalive {keep:?}: built {r:?}, expected refusal {want:?}"),
        }
    }
}

/// The unit of keepalive durations in format 2.
const KEEP_UNIT_MS: u64 = 50;

/// The keepalive settings of one side (format 2).
#[derive(Arbitrary, Debug, Default)]
pub struct Keep {
    /// `keepalive_interval` in units of 50 ms (`Some(0)` is refused).
    interval: Option<u8>,
    /// `keepalive_timeout`: left at its default (20 s), or set to `None`
    /// (refused when the interval is set) or to units of 50 ms.
    timeout: Option<Option<u8>>,
    command: KeepCmd,
}

/// The keepalive command.
#[derive(Arbitrary, Debug, Default)]
pub enum KeepCmd {
    /// Left at its default (`amp-rs.keepalive`).
    #[default]
    Default,
    /// One of the script's command names (`StartTLS` and `Switch`
    /// included; in pair mode a name the other side negotiates on is
    /// replaced by the default).
    Name(Name),
    Cancel,
    /// Any name (lossy UTF-8; empty is refused).
    Raw(Vec<u8>),
}

impl KeepCmd {
    fn name(&self) -> String {
        match self {
            KeepCmd::Default => amp_wire::DEFAULT_KEEPALIVE_COMMAND.to_owned(),
            KeepCmd::Name(n) => String::from_utf8_lossy(n.bytes()).into_owned(),
            KeepCmd::Cancel => "Cancel".to_owned(),
            KeepCmd::Raw(r) => String::from_utf8_lossy(r).into_owned(),
        }
    }
}

/// What format 2 adds after the [`Header`]: keepalive for each side.
#[derive(Arbitrary, Debug, Default)]
pub struct Ext {
    a: Keep,
    b: Keep,
}

/// The start of every script.
#[derive(Arbitrary, Debug)]
pub struct Header {
    pair: bool,
    /// Side B (or the only side) is a connection a server accepted.
    accepted: bool,
    a: Cfg,
    b: Cfg,
}

/// Command names.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    Sum,
    Ping,
    StartTls,
    Switch,
    Nope,
}

impl Name {
    fn bytes(self) -> &'static [u8] {
        match self {
            Name::Sum => b"Sum",
            Name::Ping => b"Ping",
            Name::StartTls => b"StartTLS",
            Name::Switch => b"Switch",
            Name::Nope => b"Nope",
        }
    }
}

/// Argument keys (never a reserved one, except by `Raw` in solo mode).
#[derive(Arbitrary, Debug)]
pub enum Key {
    A,
    B,
    Total,
    Data,
    K(u8),
    Raw(Vec<u8>),
}

impl Key {
    /// The key, with reserved keys (`_...`) renamed when `reserved` is
    /// not allowed.
    fn bytes(&self, reserved: bool) -> Vec<u8> {
        match self {
            Key::A => b"a".to_vec(),
            Key::B => b"b".to_vec(),
            Key::Total => b"total".to_vec(),
            Key::Data => b"data".to_vec(),
            Key::K(n) => format!("k{n}").into_bytes(),
            Key::Raw(r) if !reserved && r.first() == Some(&b'_') => {
                let mut k = b"x".to_vec();
                k.extend_from_slice(r);
                k
            }
            Key::Raw(r) => r.clone(),
        }
    }
}

type Args = Vec<(Key, Vec<u8>)>;

/// A tag in a box from the scripted peer.
#[derive(Arbitrary, Debug)]
pub enum TagSel {
    /// One of the tags this side used.
    Ours(u8),
    /// A small number in hex.
    Small(u8),
    Raw(Vec<u8>),
}

/// A well-formed box from the scripted peer.
#[derive(Arbitrary, Debug)]
pub enum PeerBox {
    Request {
        name: Name,
        ask: Option<TagSel>,
        args: Args,
    },
    Answer {
        tag: TagSel,
        args: Args,
    },
    Error {
        tag: TagSel,
        code: Option<Vec<u8>>,
        description: Option<Vec<u8>>,
    },
    Unrouted {
        args: Args,
    },
}

/// How bytes are given to a session.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverHow {
    Feed,
    TakeInput,
    /// Feed even when the session does not want to read (solo only): the
    /// buffer bound is no longer checked after that.
    Force,
}

/// How a request is concluded.
#[derive(Arbitrary, Debug)]
pub enum How {
    Answer(Args),
    /// An answer that cannot be encoded (an empty key).
    AnswerBad,
    Fail {
        code: u8,
        fatal: bool,
    },
    FailUnknown,
    Unhandled,
    AcceptSwitch,
    AcceptStartTls,
}

/// One step of the script. `b` picks side B in pair mode.
#[derive(Arbitrary, Debug)]
pub enum Op {
    PushRaw(Vec<u8>),
    PushBox(PeerBox),
    Deliver { b: bool, n: u16, how: DeliverHow },
    Call { b: bool, name: Name, args: Args },
    Notify { b: bool, name: Name, args: Args },
    Switch { b: bool },
    StartTls { b: bool },
    Conclude { b: bool, idx: u8, how: How },
    Transmit { b: bool, n: u16 },
    PollReply { b: bool, idx: u8 },
    Abandon { b: bool, idx: u8 },
    PollWritable { b: bool },
    Advance { ms16: u16 },
    Tls { b: bool, ok: bool },
    HandedOver { b: bool },
    Eof { b: bool },
    Close { b: bool },
    Shutdown { b: bool },
    Abort { b: bool },
    Finish { b: bool },
}

/// A route name (format 2).
#[derive(Arbitrary, Debug)]
pub enum RouteName {
    Empty,
    A,
    B,
    Calc,
    /// The n-th local name bound on the side (in byte order), or `a`.
    Bound(u8),
    /// The local route of the n-th call of the side (or `a`).
    OfCall(u8),
    Raw(Vec<u8>),
    /// 65,535 bytes: the longest accepted.
    Longest,
    /// 65,536 bytes: refused (`TooLong`).
    TooLong,
}

/// The steps format 2 adds (one in four steps, picked by a selector
/// byte).
#[derive(Arbitrary, Debug)]
pub enum XOp {
    /// `bind_route(local, remote)` on side A or B (solo: A). In pair mode
    /// the other side binds the mirror (`remote`, `local`), and neither
    /// binds unless both may (so routes stay valid at both ends).
    Bind {
        b: bool,
        local: RouteName,
        remote: RouteName,
    },
    /// Bind routes until `TooMany` (once per script; in pair mode on both
    /// sides, mirrored).
    Fill { b: bool },
    CallOn {
        b: bool,
        route: RouteName,
        name: Name,
        args: Args,
    },
    NotifyOn {
        b: bool,
        route: RouteName,
        name: Name,
        args: Args,
    },
    /// A well-formed box from the scripted peer with `_route` (solo).
    PushRouted { route: RouteName, pb: PeerBox },
    /// The scripted peer replies to the last keepalive ping (solo).
    PingReply {
        route: Option<RouteName>,
        error: bool,
    },
    /// Move the clock by a few milliseconds.
    Tick { ms: u8 },
    /// Move the clock to a side's next deadline, plus a few milliseconds.
    NextDeadline { b: bool, late_ms: u8 },
}

/// One step: the original ones, and (format 2) the route and keepalive
/// ones.
#[derive(Debug)]
pub enum Step {
    Op(Op),
    X(XOp),
}

/// A request this side wrote, as it must appear on the wire.
#[derive(Debug)]
struct Sent {
    /// `_ask` (none for a notification).
    tag: Option<u64>,
    name: Vec<u8>,
    /// `_route`: the remote name of the route.
    route: Option<Vec<u8>>,
}

/// A request with `_ask` and no call id, seen in pair mode: a keepalive
/// ping of the other side (checked against it after the step), or a
/// negotiation.
#[derive(Debug)]
struct PingSeen {
    tag: Option<u64>,
    name: Vec<u8>,
    keys: usize,
    route: Option<Bytes>,
}

/// One of our calls.
#[derive(Debug)]
struct Issued {
    tag: u64,
    name: Vec<u8>,
    /// The id sent as argument `n` (pair mode, plain calls).
    id: Option<u64>,
    /// Plain call (not a switch or StartTLS).
    plain: bool,
    /// The local name of the route it was made on.
    route: Option<Vec<u8>>,
    abandoned: bool,
    /// An answer or error was delivered.
    answered: bool,
    /// Any reply was delivered (the tag is forgotten).
    finished: bool,
    /// Its deadline (`set_call_deadline`), if it has one.
    deadline: Option<Instant>,
}

/// Boxes parsed from a byte stream as it grows.
#[derive(Default)]
struct Mirror {
    buf: Vec<u8>,
    /// Set when the stream stopped being AMP; nothing more is parsed.
    broken: bool,
}

impl Mirror {
    /// Append bytes; return the boxes completed by them (or `Err` if the
    /// stream broke now).
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<AmpBox>, ()> {
        if self.broken {
            return Ok(Vec::new());
        }
        self.buf.extend_from_slice(bytes);
        let (frames, stop) = ref_parse(&self.buf);
        let consumed = frames.last().map_or(0, |f| f.end);
        let boxes = frames
            .iter()
            .map(|f| {
                AmpBox::from_entries(
                    f.entries
                        .iter()
                        .map(|(k, v)| (Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)))
                        .collect(),
                )
            })
            .collect();
        if let Some(crate::RefStop::KeyTooLong { .. }) = stop {
            self.broken = true;
            return Err(());
        }
        self.buf.drain(..consumed);
        Ok(boxes)
    }
}

struct Side {
    name: &'static str,
    s: Session,
    max_box: usize,
    max_in_flight: usize,
    /// The driver's write buffer: given by `poll_transmit`, not written.
    out: BytesMut,
    /// Requests given out and not concluded, each with an id.
    requests: Vec<(u64, Request)>,
    next_request: u64,
    /// The id of the negotiation (switch, StartTLS) being decided.
    deciding: Option<u64>,
    issued: Vec<Issued>,
    next_tag: u64,
    next_id: u64,
    tls_pending: Option<Role>,
    handover_pending: bool,
    was_closed: bool,
    /// The events of the end told so far: `Over`, `DiscardOutput`,
    /// `CloseTransport`, `Closed`.
    told: [bool; 4],
    /// Fed while not wanting to read: the buffer bound no longer holds.
    forced: bool,
    /// The driver shut the transport down (after `ready_to_close`).
    transport_closed: bool,
    eof: bool,
    input: Mirror,
    output: Mirror,
    /// `_ask` tags of the requests in what was delivered, with counts.
    asked: HashMap<Vec<u8>, usize>,
    /// `_answer`/`_error` tags in what was transmitted, with counts.
    answered: HashMap<Vec<u8>, usize>,
    /// The last `_ask` tag of ours seen in the output.
    last_ask_out: u64,
    /// Bytes transmitted after the hand-over event.
    handed: bool,
    /// The requests written, in order, not yet seen transmitted.
    sent: std::collections::VecDeque<Sent>,
    /// The routes bound: local name → remote name (what `bind_route`
    /// must agree with).
    routes: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    /// `Fill` is under way (fewer checks per bind).
    filling: bool,
    /// Keepalive: the interval, and the command pinged with.
    keepalive: Option<(Duration, Vec<u8>)>,
    /// Tags of the keepalive pings sent.
    pings: Vec<u64>,
    /// When the last ping was sent.
    ping_at: Option<Instant>,
    /// A reply to the last ping was given to the session (while reading)
    /// after the ping was sent, and could be decoded.
    ping_reply_fed: bool,
    /// A reply to the last ping was given to the session in this step
    /// (whether it could be decoded is known after the step).
    ping_reply_now: bool,
    /// When bytes were last given to the session (or it was made).
    last_fed: Instant,
    /// Keepalive's clock as the session keeps it (noted at each
    /// `handle_timeout`): stopped (the session did not read), and when it
    /// last started over.
    ka_stopped: bool,
    ka_resumed: Instant,
    /// Pair mode: ping-like requests seen in the last step.
    pings_seen: Vec<PingSeen>,
    /// The keepalive timeout was checked.
    keepalive_end_checked: bool,
    /// The end was counted (`AMP_FUZZ_STATS`).
    end_counted: bool,
}

impl Side {
    fn new(
        name: &'static str,
        config: Config,
        accepted: bool,
        tls: bool,
        switch: bool,
        now: Instant,
    ) -> Side {
        let (max_box, max_in_flight) = (config.max_box_size(), config.max_in_flight());
        let keepalive = config
            .keepalive_interval()
            .map(|i| (i, config.keepalive_command().as_bytes().to_vec()));
        let mut s = if accepted {
            Session::new_accepted(config, now)
        } else {
            Session::new(config, now)
        };
        if tls {
            s.negotiates_start_tls();
        }
        // Remote cancellation is always answered: the peer's `Cancel`
        // boxes (scripted, or sent by the other session) take that path.
        s.answers_cancel();
        if switch {
            s.negotiates_switch(&b"Switch"[..]);
        }
        Side {
            name,
            s,
            max_box,
            max_in_flight,
            out: BytesMut::new(),
            requests: Vec::new(),
            next_request: 0,
            deciding: None,
            issued: Vec::new(),
            next_tag: 1,
            next_id: 1,
            tls_pending: None,
            handover_pending: false,
            was_closed: false,
            told: [false; 4],
            forced: false,
            transport_closed: false,
            eof: false,
            input: Mirror::default(),
            output: Mirror::default(),
            asked: HashMap::new(),
            answered: HashMap::new(),
            last_ask_out: 0,
            handed: false,
            sent: Default::default(),
            routes: Default::default(),
            filling: false,
            keepalive,
            pings: Vec::new(),
            ping_at: None,
            ping_reply_fed: false,
            ping_reply_now: false,
            last_fed: now,
            ka_stopped: false,
            ka_resumed: now,
            pings_seen: Vec::new(),
            keepalive_end_checked: false,
            end_counted: false,
        }
    }

    /// Resolve a route name on this side.
    fn route_name(&self, r: &RouteName) -> Vec<u8> {
        match r {
            RouteName::Empty => Vec::new(),
            RouteName::A => b"a".to_vec(),
            RouteName::B => b"b".to_vec(),
            RouteName::Calc => b"calc".to_vec(),
            RouteName::Bound(i) => {
                let n = self.routes.len().max(1);
                match self.routes.keys().nth(*i as usize % n) {
                    Some(k) => k.clone(),
                    None => b"a".to_vec(),
                }
            }
            RouteName::OfCall(i) => self
                .issued
                .get(*i as usize % self.issued.len().max(1))
                .and_then(|c| c.route.clone())
                .unwrap_or_else(|| b"a".to_vec()),
            RouteName::Raw(r) => r.clone(),
            RouteName::Longest => vec![b'r'; amp_wire::MAX_VALUE_LENGTH],
            RouteName::TooLong => vec![b'r'; amp_wire::MAX_VALUE_LENGTH + 1],
        }
    }

    /// What `bind_route(local, remote)` must return, by its rules.
    fn bind_expected(&self, local: &[u8], remote: &[u8]) -> Result<(), RouteError> {
        let max = amp_wire::MAX_VALUE_LENGTH;
        if local.len() > max || remote.len() > max {
            return Err(RouteError::TooLong);
        }
        match self.routes.get(local) {
            Some(r) if r == remote => Ok(()),
            Some(r) => Err(RouteError::Bound {
                local: Bytes::copy_from_slice(local),
                remote: Bytes::copy_from_slice(r),
            }),
            None if self.routes.len() >= MAX_ROUTES => Err(RouteError::TooMany),
            None => Ok(()),
        }
    }

    /// Bind, checking the result against the rules.
    fn bind(&mut self, local: &[u8], remote: &[u8]) -> Result<(), RouteError> {
        let want = self.bind_expected(local, remote);
        let before = self.s.routes_bound();
        let got = self.s.bind_route(local.to_vec(), remote.to_vec());
        assert_eq!(got, want, "{}: bind_route", self.name);
        count(match &got {
            Ok(()) if self.routes.contains_key(local) => C::bind_same_pair,
            Ok(()) => C::bind_new,
            Err(RouteError::Bound { .. }) => C::bind_bound,
            Err(RouteError::TooMany) => C::bind_too_many,
            Err(_) => C::bind_too_long,
        });
        if got.is_ok() {
            self.routes.insert(local.to_vec(), remote.to_vec());
        }
        if self.filling {
            return got; // (checked once the table is full)
        }
        assert_eq!(self.s.routes_bound(), self.routes.len(), "{}", self.name);
        assert!(self.s.routes_bound() >= before);
        assert_eq!(
            self.s.route_remote(local).map(|r| &r[..]),
            self.routes.get(local).map(|r| &r[..]),
            "{}",
            self.name
        );
        got
    }

    /// `handle_timeout(now)` is about to be called: keepalive's clock stops
    /// if the session does not read (or holds its boxes), and starts over
    /// if it reads again.
    fn note_keepalive(&mut self, now: Instant) {
        if self.keepalive.is_none() {
            return;
        }
        let runs = !self.s.phase().holds() && self.s.wants_read();
        if runs && self.ka_stopped {
            self.ka_resumed = now;
        }
        self.ka_stopped = !runs;
    }

    /// A keepalive ping went out now (seen by the request counter).
    fn pinged(&mut self, now: Instant) {
        let (interval, command) = self
            .keepalive
            .clone()
            .unwrap_or_else(|| panic!("{}: a ping with keepalive off", self.name));
        assert!(
            now >= self.last_fed + interval,
            "{}: ping {:?} after the last input, interval {interval:?}",
            self.name,
            now - self.last_fed
        );
        assert!(
            !self.s.phase().holds() && !self.s.is_over(),
            "{}: ping during {:?}",
            self.name,
            self.s.phase()
        );
        count(C::ping_sent);
        let tag = self.next_tag;
        self.next_tag += 1;
        self.pings.push(tag);
        self.ping_at = Some(now);
        self.ping_reply_fed = false;
        self.ping_reply_now = false;
        self.sent.push_back(Sent {
            tag: Some(tag),
            name: command,
            route: None,
        });
    }

    fn tag_bytes(&self, sel: &TagSel) -> Vec<u8> {
        match sel {
            TagSel::Ours(i) => match self.issued.get(*i as usize % self.issued.len().max(1)) {
                Some(c) => format!("{:x}", c.tag).into_bytes(),
                None => b"1".to_vec(),
            },
            TagSel::Small(n) => format!("{n:x}").into_bytes(),
            TagSel::Raw(r) => r.clone(),
        }
    }

    /// Poll every event at `now`, acting on none but recording them.
    fn drain(&mut self, pair: bool, now: Instant) {
        let mut wakers = Vec::new();
        for i in 0.. {
            assert!(i < 100_000, "{}: poll_event does not end", self.name);
            let Some(ev) = self.s.poll_event(now) else {
                break;
            };
            assert!(!self.told[3], "{}: event {ev:?} after Closed", self.name);
            let end = match &ev {
                Event::Over => Some(0),
                Event::DiscardOutput => Some(1),
                Event::CloseTransport => Some(2),
                Event::Closed(_) => Some(3),
                _ => None,
            };
            if let Some(k) = end {
                assert!(!self.told[k], "{}: {ev:?} told twice", self.name);
                assert!(k == 0 || self.told[0], "{}: {ev:?} before Over", self.name);
                self.told[k] = true;
            }
            match ev {
                Event::Request(r) => {
                    assert!(!self.s.is_over(), "{}: request while over", self.name);
                    assert_eq!(r.args.get("_command"), Some(&r.name[..]));
                    assert_eq!(r.args.get_bytes("_ask"), r.tag);
                    // Routes: a request's route is a local name bound
                    // here, its `_route` key is taken out, and it never
                    // negotiates.
                    if let Some(route) = &r.route {
                        count(C::routed_request);
                        assert!(
                            self.routes.contains_key(&route[..]),
                            "{}: request on route {route:?}, not bound",
                            self.name
                        );
                        assert!(self.s.route_remote(route).is_some());
                        assert_eq!(r.kind, CommandKind::Plain, "{}", self.name);
                        assert!(!r.args.contains_key("_route"), "{}", self.name);
                    }
                    if pair {
                        // The honest peer names the route it called on in
                        // argument `v` (our local name).
                        assert_eq!(
                            r.route.as_deref(),
                            r.args.get("v"),
                            "{}: request {:?} on the wrong route",
                            self.name,
                            r.args
                        );
                        if r.tag.is_some() && !r.args.contains_key("n") {
                            self.pings_seen.push(PingSeen {
                                tag: r
                                    .tag
                                    .as_deref()
                                    .and_then(|t| std::str::from_utf8(t).ok())
                                    .and_then(|t| u64::from_str_radix(t, 16).ok()),
                                name: r.name.to_vec(),
                                keys: r.args.len(),
                                route: r.route.clone(),
                            });
                        }
                    }
                    self.next_request += 1;
                    if r.kind != CommandKind::Plain {
                        assert_eq!(self.s.phase(), Phase::Deciding(r.kind), "{}", self.name);
                        assert!(r.tag.is_some());
                        self.deciding = Some(self.next_request);
                    }
                    self.requests.push((self.next_request, r));
                }
                Event::StartTls(role) => {
                    assert_eq!(self.s.phase(), Phase::TlsHandshake(role), "{}", self.name);
                    assert!(self.tls_pending.is_none(), "{}: two handshakes", self.name);
                    assert!(
                        self.out.is_empty(),
                        "{}: handshake before the output is written",
                        self.name
                    );
                    self.tls_pending = Some(role);
                }
                Event::HandOver { role: _, buffered } => {
                    assert_eq!(self.s.phase(), Phase::Switched, "{}", self.name);
                    assert!(self.told[0], "{}: hand-over before Over", self.name);
                    assert!(self.s.is_finished());
                    assert!(
                        self.out.is_empty(),
                        "{}: hand-over before the output is written",
                        self.name
                    );
                    if pair {
                        assert!(
                            buffered.is_empty(),
                            "{}: {} bytes past an honest switch",
                            self.name,
                            buffered.len()
                        );
                    }
                    self.handover_pending = true;
                    self.handed = true;
                }
                Event::Cancel(id) => {
                    // Concluded by the session already: forget it.
                    let before = self.requests.len();
                    self.requests.retain(|(_, r)| r.id != id);
                    assert_eq!(
                        self.requests.len() + 1,
                        before,
                        "{}: Cancel for a request not let through",
                        self.name
                    );
                }
                // A memory hint: the session gave back its empty buffers.
                Event::ReleaseBuffers => {}
                Event::Over => assert!(self.s.is_over(), "{}", self.name),
                Event::DiscardOutput => {
                    assert!(self.s.discard_output(), "{}", self.name);
                    self.out.clear();
                }
                Event::CloseTransport => assert!(self.s.ready_to_close(), "{}", self.name),
                Event::Closed(reason) => {
                    assert!(self.s.is_finished(), "{}", self.name);
                    assert_eq!(
                        Some(reason.to_string()),
                        self.s.close_reason().map(|r| r.to_string()),
                        "{}",
                        self.name
                    );
                    if self.s.phase() == Phase::Switched {
                        assert!(
                            self.handed && !self.handover_pending,
                            "{}: Closed before the hand-over was done",
                            self.name
                        );
                    }
                }
                other => panic!("{}: unexpected event {other:?}", self.name),
            }
        }
        self.s.drain_wakers(&mut wakers);
        // Everything of the end that is due was told.
        if self.s.is_over() {
            assert!(self.told[0], "{}: over, not told", self.name);
        }
        if self.s.phase() == Phase::Closed {
            assert!(self.told[3], "{}: closed, not told", self.name);
        }
    }

    fn check(&mut self, pair: bool) {
        let s = &self.s;
        let name = self.name;
        if self.was_closed {
            assert!(s.is_finished(), "{name}: closed, then not");
        }
        self.was_closed = s.is_finished();
        if let (false, Some(Disconnect::Protocol(e))) = (self.end_counted, s.close_reason()) {
            self.end_counted = true;
            match e {
                ProtocolError::UnknownRoute { .. } => count(C::close_unknown_route),
                ProtocolError::UnknownTag { .. } if !self.routes.is_empty() => {
                    count(C::close_unknown_tag_with_routes)
                }
                _ => {}
            }
        }
        assert!(
            s.in_flight() <= self.max_in_flight,
            "{name}: in_flight {} > {}",
            s.in_flight(),
            self.max_in_flight
        );
        assert!(
            s.in_flight() <= self.requests.len(),
            "{name}: in_flight {} with {} requests given out",
            s.in_flight(),
            self.requests.len()
        );
        let calls = self.issued.len();
        assert!(
            s.unanswered_calls() <= calls,
            "{name}: {} unanswered of {calls} calls",
            s.unanswered_calls()
        );
        if s.is_idle() {
            assert_eq!(s.phase(), Phase::Open);
            assert_eq!(s.in_flight(), 0);
            assert_eq!(s.unanswered_calls(), 0);
        }
        assert_eq!(
            s.close_reason().is_some(),
            s.is_over(),
            "{name}: {:?}",
            s.phase()
        );
        if s.is_over() {
            assert!(s.check_call().is_err());
            assert!(!s.wants_read());
        }
        if s.phase() == Phase::Closed {
            assert!(s.is_finished());
        }
        if pair {
            if let Some(reason) = s.close_reason() {
                honest_reason(name, reason);
            }
        }
        // Every call resolves: once closing, none is left waiting.
        if matches!(s.phase(), Phase::Closing | Phase::Closed) {
            assert_eq!(
                s.unanswered_calls(),
                0,
                "{name}: calls left in {:?}",
                s.phase()
            );
        }
        // Routes: the tables agree with the rules, within their bound.
        assert_eq!(s.routes_bound(), self.routes.len(), "{name}");
        assert!(s.routes_bound() <= MAX_ROUTES);
        // Keepalive. A reply given in this step was decoded unless decoding
        // stopped before it: at a negotiation request (switch, StartTLS)
        // read with it, being decided or waiting for room. (An honest peer
        // sends nothing after its own negotiation request until it is
        // answered: only a scripted one makes a reply wait there.)
        if std::mem::take(&mut self.ping_reply_now)
            && !matches!(s.phase(), Phase::Deciding(_))
            && s.stats().requests_waiting == 0
        {
            count(C::ping_reply_read);
            self.ping_reply_fed = true;
        }
        match (&self.keepalive, s.close_reason()) {
            (_, Some(Disconnect::Timeout(Timeout::Keepalive))) if !self.keepalive_end_checked => {
                self.keepalive_end_checked = true;
                count(C::timeout_keepalive);
                assert!(
                    self.keepalive.is_some(),
                    "{name}: keepalive timeout, keepalive off"
                );
                assert!(
                    !self.pings.is_empty(),
                    "{name}: keepalive timeout, no ping sent"
                );
                // The peer's reply, once read, proves it alive.
                assert!(
                    !self.ping_reply_fed,
                    "{name}: keepalive timeout after the ping's reply was read"
                );
            }
            // The first ping is due `interval` after the last input, or
            // after reading last resumed (unless our boxes are held, or
            // the session does not read).
            (Some((interval, _)), None)
                if self.pings.is_empty() && !s.phase().holds() && !self.ka_stopped =>
            {
                let due = self.last_fed.max(self.ka_resumed) + *interval;
                let next = s.poll_timeout();
                assert!(
                    next.is_some_and(|t| t <= due),
                    "{name}: ping due at +{:?}, next deadline {:?} ({:?})",
                    due - self.last_fed,
                    next.map(|t| t.saturating_duration_since(self.last_fed)),
                    s.phase()
                );
            }
            _ => {}
        }
    }

    /// Give `bytes` to the session (the caller checked it may read).
    fn deliver(&mut self, bytes: &[u8], how: DeliverHow, now: Instant) {
        let reading = self.s.wants_read();
        if !bytes.is_empty() {
            self.last_fed = now;
        }
        match how {
            DeliverHow::Feed | DeliverHow::Force => self.s.feed(bytes, now),
            DeliverHow::TakeInput => {
                let mut buf = self.s.take_input();
                if !self.forced {
                    // A full drain left at most a partial box.
                    assert!(
                        buf.len() < self.max_box,
                        "{}: {} bytes buffered with max_box_size {}",
                        self.name,
                        buf.len(),
                        self.max_box
                    );
                }
                buf.extend_from_slice(bytes);
                self.s.handle_input(buf, now);
            }
        }
        // (Once the stream stops being AMP, nothing more is counted.)
        if let Ok(boxes) = self.input.push(bytes) {
            for b in boxes {
                if b.contains_key("_answer") || b.contains_key("_error") {
                    let tag = b.get("_answer").or_else(|| b.get("_error"));
                    let ping = self.pings.last().map(|t| format!("{t:x}"));
                    // (The ping goes on the default conversation: a reply
                    // on a route is not its reply.)
                    let routed = !self.routes.is_empty() && b.contains_key("_route");
                    if reading
                        && !routed
                        && tag.is_some()
                        && tag == ping.as_deref().map(str::as_bytes)
                    {
                        self.ping_reply_now = true;
                    }
                    continue;
                }
                if let (true, Some(t)) = (b.contains_key("_command"), b.get("_ask")) {
                    *self.asked.entry(t.to_vec()).or_default() += 1;
                }
            }
        }
    }

    /// What the session transmitted: it must be AMP, and honest.
    fn transmitted(&mut self, bytes: &[u8]) {
        let name = self.name;
        assert!(
            !self.handed || bytes.is_empty(),
            "{name}: output after the hand-over"
        );
        let boxes = self
            .output
            .push(bytes)
            .unwrap_or_else(|()| panic!("{name}: transmitted a key longer than 255"));
        for b in boxes {
            let tag = b.get("_answer").or_else(|| b.get("_error"));
            if let Some(t) = tag {
                if b.get("_answer").is_none() {
                    assert!(
                        b.contains_key("_error_code"),
                        "{name}: error without a code"
                    );
                }
                // A reply on a route carries the route's remote name.
                if let Some(r) = b.get("_route") {
                    assert!(
                        self.routes.values().any(|v| v == r),
                        "{name}: reply on route {r:?}, not a remote name bound"
                    );
                }
                if !self.input.broken {
                    let n = self.answered.entry(t.to_vec()).or_default();
                    *n += 1;
                    let asked = self.asked.get(t).copied().unwrap_or(0);
                    assert!(
                        *n <= asked,
                        "{name}: tag {:?} answered {n} times, asked {asked} times",
                        String::from_utf8_lossy(t)
                    );
                }
                continue;
            }
            let command = b
                .get("_command")
                .unwrap_or_else(|| panic!("{name}: transmitted {b:?}"));
            // Our requests go out in the order written, each with its tag,
            // name and route (pings included).
            let sent = self
                .sent
                .pop_front()
                .unwrap_or_else(|| panic!("{name}: transmitted a request never made: {b:?}"));
            let tag = sent.tag.map(|t| format!("{t:x}"));
            assert_eq!(
                b.get("_ask"),
                tag.as_deref().map(str::as_bytes),
                "{name}: {b:?}"
            );
            assert_eq!(command, &sent.name[..], "{name}: {b:?}");
            assert_eq!(b.get("_route"), sent.route.as_deref(), "{name}: {b:?}");
            if let Some(t) = sent.tag {
                if self.pings.contains(&t) {
                    // A ping: the command alone.
                    assert_eq!(b.len(), 2, "{name}: ping {b:?}");
                }
            }
            if let Some(t) = b.get("_ask") {
                let t = std::str::from_utf8(t)
                    .ok()
                    .and_then(|t| u64::from_str_radix(t, 16).ok());
                let t = t.unwrap_or_else(|| panic!("{name}: bad tag in {b:?}"));
                assert!(
                    t > self.last_ask_out,
                    "{name}: tag {t} after {}",
                    self.last_ask_out
                );
                self.last_ask_out = t;
                if let Some(call) = self.issued.iter().find(|c| c.tag == t) {
                    assert_eq!(call.name, command, "{name}: tag {t}");
                } else {
                    assert!(
                        self.pings.contains(&t),
                        "{name}: request with tag {t} never made"
                    );
                }
            }
        }
    }
}

/// Close reasons an honest peer (the other session, driven honestly) may
/// cause.
fn honest_reason(name: &str, reason: &Disconnect) {
    match reason {
        Disconnect::Protocol(
            ProtocolError::BoxTooLarge { .. }
            | ProtocolError::TooManyEntries { .. }
            | ProtocolError::TruncatedBox { .. },
        ) => {}
        Disconnect::Protocol(e) => panic!("{name}: honest peer blamed for {e:?}"),
        Disconnect::PlaintextBeforeTls { .. } => {
            panic!("{name}: {reason:?} between honest sessions")
        }
        _ => {}
    }
}

fn put_args(
    w: &mut amp_wire::FieldWriter<'_>,
    args: &[(Vec<u8>, Vec<u8>)],
) -> Result<(), amp_wire::EncodeError> {
    for (k, v) in args {
        w.put_raw(k, v)?;
    }
    Ok(())
}

fn encodable(args: &[(Vec<u8>, Vec<u8>)]) -> bool {
    args.iter()
        .all(|(k, v)| (1..=255).contains(&k.len()) && v.len() <= 65535)
}

struct World {
    pair: bool,
    now: Instant,
    sides: Vec<Side>,
    /// Bytes on their way to each side (solo: from the script).
    wire: [Vec<u8>; 2],
    /// `Fill` was done.
    filled: bool,
}

impl World {
    fn other(i: usize) -> usize {
        1 - i
    }

    fn side_of(&self, b: bool) -> usize {
        if self.pair && b {
            1
        } else {
            0
        }
    }

    fn step(&mut self, op: Op) {
        let pair = self.pair;
        let now = self.now;
        match op {
            Op::PushRaw(bytes) => {
                if !pair {
                    self.wire[0].extend_from_slice(&bytes);
                }
            }
            Op::PushBox(pb) => {
                if !pair {
                    let bytes = self.peer_box(&pb);
                    self.wire[0].extend_from_slice(&bytes);
                }
            }
            Op::Deliver { b, n, how } => {
                let i = self.side_of(b);
                let how = if pair && how == DeliverHow::Force {
                    DeliverHow::Feed
                } else {
                    how
                };
                let side = &mut self.sides[i];
                if side.transport_closed || side.eof {
                    return;
                }
                if !side.s.wants_read() {
                    if how != DeliverHow::Force {
                        return;
                    }
                    side.forced = true;
                }
                let k = (n as usize).min(self.wire[i].len());
                let bytes: Vec<u8> = self.wire[i].drain(..k).collect();
                side.deliver(&bytes, how, now);
            }
            Op::Call { b, name, args } => self.call(b, name, args, false, None),
            Op::Notify { b, name, args } => self.call(b, name, args, true, None),
            Op::Switch { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let check = side.s.check_switch();
                let r = side.s.switch(b"Switch", |_| Ok(()));
                assert_eq!(
                    check.is_ok(),
                    r.is_ok(),
                    "{}: check_switch {check:?}, switch {r:?}",
                    side.name
                );
                if let Ok(tag) = r {
                    assert_eq!(tag, side.next_tag);
                    side.next_tag += 1;
                    side.sent.push_back(Sent {
                        tag: Some(tag),
                        name: b"Switch".to_vec(),
                        route: None,
                    });
                    assert_eq!(side.s.phase(), Phase::Switching);
                    side.issued.push(Issued {
                        tag,
                        name: b"Switch".to_vec(),
                        id: None,
                        plain: false,
                        route: None,
                        abandoned: false,
                        answered: false,
                        finished: false,
                        deadline: None,
                    });
                }
            }
            Op::StartTls { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let check = side.s.check_start_tls();
                let r = side.s.start_tls();
                assert_eq!(
                    check.is_ok(),
                    r.is_ok(),
                    "{}: check_start_tls {check:?}, start_tls {r:?}",
                    side.name
                );
                if let Ok(tag) = r {
                    assert_eq!(tag, side.next_tag);
                    side.next_tag += 1;
                    side.sent.push_back(Sent {
                        tag: Some(tag),
                        name: b"StartTLS".to_vec(),
                        route: None,
                    });
                    assert_eq!(side.s.phase(), Phase::TlsRequested);
                    assert!(side.s.tls_agreed());
                    side.issued.push(Issued {
                        tag,
                        name: b"StartTLS".to_vec(),
                        id: None,
                        plain: false,
                        route: None,
                        abandoned: false,
                        answered: false,
                        finished: false,
                        deadline: None,
                    });
                }
            }
            Op::Conclude { b, idx, how } => self.conclude(b, idx, how),
            Op::Transmit { b, n } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                if side.transport_closed {
                    return;
                }
                if side.s.discard_output() {
                    side.out.clear();
                    return;
                }
                let before = side.out.len();
                let given = side.s.poll_transmit(&mut side.out, now);
                assert_eq!(side.out.len(), before + given);
                if matches!(side.s.phase(), Phase::TlsHandshake(_)) || side.handed {
                    assert_eq!(
                        given,
                        0,
                        "{}: output during {:?}",
                        side.name,
                        side.s.phase()
                    );
                }
                let k = (n as usize).min(side.out.len());
                let written = side.out.split_to(k);
                side.s.transmitted(k, now);
                side.transmitted(&written);
                if pair {
                    self.wire[Self::other(i)].extend_from_slice(&written);
                }
            }
            Op::PollReply { b, idx } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let pick = if side.issued.is_empty() || idx == 255 {
                    None
                } else {
                    Some(idx as usize % side.issued.len())
                };
                let tag = pick.map_or(side.next_tag + 1000, |p| side.issued[p].tag);
                let r = side.s.poll_reply(tag, Waker::noop());
                let Some(p) = pick else {
                    assert!(
                        matches!(r, Poll::Ready(Reply::Lost(_))),
                        "{}: unknown tag {tag}: {r:?}",
                        side.name
                    );
                    return;
                };
                let call = &mut side.issued[p];
                match r {
                    Poll::Pending => assert!(
                        !call.finished,
                        "{}: tag {tag} pending after its reply",
                        side.name
                    ),
                    Poll::Ready(Reply::Lost(_)) => call.finished = true,
                    Poll::Ready(Reply::TimedOut) => {
                        assert!(
                            call.deadline.is_some_and(|d| d <= now),
                            "{}: tag {tag} timed out before its deadline {:?}",
                            side.name,
                            call.deadline
                        );
                        assert!(!call.finished, "{}: tag {tag} replied twice", side.name);
                        // Given up by the session: its answer is late.
                        call.finished = true;
                        call.abandoned = true;
                    }
                    Poll::Ready(reply) => {
                        assert!(
                            !call.answered,
                            "{}: second reply for tag {tag}: {reply:?}",
                            side.name
                        );
                        assert!(
                            !call.finished,
                            "{}: reply for tag {tag} after Lost",
                            side.name
                        );
                        assert!(
                            !call.abandoned,
                            "{}: reply for abandoned tag {tag}",
                            side.name
                        );
                        call.answered = true;
                        call.finished = true;
                        if call.route.is_some() && !matches!(reply, Reply::Lost(_)) {
                            count(C::routed_reply);
                        }
                        if let (true, Reply::Answer(b)) = (call.plain, &reply) {
                            // Its own answer (never a ping's reply).
                            let want = format!("{tag:x}");
                            assert_eq!(b.get("_answer"), Some(want.as_bytes()), "{}", side.name);
                        }
                        if let (true, Some(id), Reply::Answer(b)) = (pair, call.id, &reply) {
                            let got = b.get("n");
                            assert_eq!(
                                got,
                                Some(id.to_string().as_bytes()),
                                "{}: the answer to tag {tag} is another call's",
                                side.name
                            );
                        }
                        if !call.plain {
                            // Negotiations are answered by the session.
                            if let Reply::Answer(b) = &reply {
                                assert!(b.is_empty() || pair, "{}: {b:?}", side.name);
                            }
                        }
                    }
                }
            }
            Op::Abandon { b, idx } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                if side.issued.is_empty() {
                    return;
                }
                let p = idx as usize % side.issued.len();
                side.issued[p].abandoned = true;
                // An odd index also asks the peer to cancel (`Cancel`,
                // a request of its own whose reply nobody waits for).
                if idx % 2 == 0 {
                    side.s.abandon(side.issued[p].tag);
                } else if side.s.cancel(side.issued[p].tag) {
                    let tag = side.next_tag;
                    side.next_tag += 1;
                    // On the route the call was made on.
                    let route = side.issued[p].route.clone();
                    let remote = route.as_ref().map(|l| side.routes[l].clone());
                    side.sent.push_back(Sent {
                        tag: Some(tag),
                        name: b"Cancel".to_vec(),
                        route: remote,
                    });
                    side.issued.push(Issued {
                        tag,
                        name: b"Cancel".to_vec(),
                        id: None,
                        plain: true,
                        route,
                        abandoned: true,
                        answered: false,
                        finished: false,
                        deadline: None,
                    });
                }
            }
            Op::PollWritable { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let ready = side.s.writable() || side.s.is_over();
                let p = side.s.poll_writable(Waker::noop());
                assert_eq!(p.is_ready(), ready, "{}", side.name);
            }
            Op::Advance { ms16 } => {
                self.advance(self.now + Duration::from_millis(ms16 as u64 * 16));
            }
            Op::Tls { b, ok } => self.tls(b, ok),
            Op::HandedOver { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                if side.handover_pending {
                    side.handover_pending = false;
                    side.s.handed_over();
                    assert_eq!(side.s.phase(), Phase::Switched);
                } else if !pair {
                    // Out of turn: changes nothing.
                    let phase = side.s.phase();
                    side.s.handed_over();
                    assert_eq!(side.s.phase(), phase);
                }
            }
            Op::Eof { b } => {
                let i = self.side_of(b);
                if pair {
                    // Only once the other side shut down and its bytes are
                    // all read.
                    let o = Self::other(i);
                    if !self.sides[o].transport_closed || !self.wire[i].is_empty() {
                        return;
                    }
                }
                let side = &mut self.sides[i];
                if side.eof || side.transport_closed {
                    return;
                }
                side.eof = true;
                let over = side.s.is_over();
                side.s.handle_eof(now);
                assert!(side.s.is_over() || over || side.s.phase() == Phase::Closing);
                assert!(!side.s.wants_read());
            }
            Op::Close { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let before = side.s.phase();
                side.s.close(now);
                after_close(side, before);
            }
            Op::Abort { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let before = side.s.phase();
                side.s
                    .abort(Disconnect::Io(Arc::new(std::io::Error::other("fuzz"))));
                after_close(side, before);
                if !matches!(before, Phase::Closed | Phase::Switched) {
                    // (A close writing what is queued stops writing too.)
                    assert!(side.s.discard_output());
                    assert!(side.s.ready_to_close());
                }
            }
            Op::Shutdown { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                let before = side.s.phase();
                side.s.shutdown(now);
                let after = side.s.phase();
                let want = match before {
                    Phase::Open => Phase::Draining,
                    Phase::Draining
                    | Phase::HandingOver(_)
                    | Phase::Switched
                    | Phase::Closing
                    | Phase::Closed => before,
                    _ => Phase::Closing,
                };
                assert_eq!(after, want, "{}: shutdown from {before:?}", side.name);
            }
            Op::Finish { b } => {
                let i = self.side_of(b);
                let side = &mut self.sides[i];
                if side.s.ready_to_close() {
                    side.s.finish();
                    assert_eq!(side.s.phase(), Phase::Closed);
                    side.transport_closed = true;
                    side.out.clear();
                    // Nobody reads what is sent to a closed transport.
                    self.wire[i].clear();
                } else if !pair {
                    let phase = side.s.phase();
                    side.s.finish();
                    if phase != Phase::Closing {
                        assert_eq!(side.s.phase(), phase, "{}: finish out of turn", side.name);
                    }
                }
            }
        }
    }

    fn peer_box(&self, pb: &PeerBox) -> Vec<u8> {
        self.peer_box_on(pb, None)
    }

    /// A box from the scripted peer, with `_route: route` last if given.
    fn peer_box_on(&self, pb: &PeerBox, route: Option<Vec<u8>>) -> Vec<u8> {
        let side = &self.sides[0];
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let args = |entries: &mut Vec<(Vec<u8>, Vec<u8>)>, args: &Args| {
            for (k, v) in args {
                let mut k = k.bytes(true);
                k.truncate(255);
                if k.is_empty() {
                    k.push(b'e');
                }
                let mut v = v.clone();
                v.truncate(65535);
                entries.push((k, v));
            }
        };
        match pb {
            PeerBox::Request { name, ask, args: a } => {
                args(&mut entries, a);
                entries.push((b"_command".to_vec(), name.bytes().to_vec()));
                if let Some(t) = ask {
                    entries.push((b"_ask".to_vec(), side.tag_bytes(t)));
                }
            }
            PeerBox::Answer { tag, args: a } => {
                entries.push((b"_answer".to_vec(), side.tag_bytes(tag)));
                args(&mut entries, a);
            }
            PeerBox::Error {
                tag,
                code,
                description,
            } => {
                entries.push((b"_error".to_vec(), side.tag_bytes(tag)));
                if let Some(c) = code {
                    entries.push((b"_error_code".to_vec(), c.clone()));
                }
                if let Some(d) = description {
                    entries.push((b"_error_description".to_vec(), d.clone()));
                }
            }
            PeerBox::Unrouted { args: a } => args(&mut entries, a),
        }
        if let Some(r) = route {
            entries.push((b"_route".to_vec(), r));
        }
        let refs: Vec<(&[u8], &[u8])> = entries
            .iter()
            .map(|(k, v)| (&k[..], &v[..(v.len().min(65535))]))
            .collect();
        let mut out = Vec::new();
        crate::wire(&refs, &mut out);
        out
    }

    /// A call or notification, on the default conversation or (`route`)
    /// on a route.
    fn call(&mut self, b: bool, name: Name, args: Args, notify: bool, route: Option<&RouteName>) {
        let pair = self.pair;
        let now = self.now;
        let i = self.side_of(b);
        let side = &mut self.sides[i];
        // An honest driver negotiates only through switch/start_tls (on a
        // route the names are plain commands, refused by the peer).
        let name = if pair && route.is_none() && matches!(name, Name::StartTls | Name::Switch) {
            Name::Sum
        } else {
            name
        };
        let local = route.map(|r| side.route_name(r));
        let remote = local.as_ref().and_then(|l| side.routes.get(l).cloned());
        let mut args: Vec<(Vec<u8>, Vec<u8>)> = args
            .iter()
            .map(|(k, v)| (k.bytes(false), v.clone()))
            .filter(|(k, _)| k != b"n" && !(pair && k == b"v"))
            .collect();
        let id = (pair && !notify).then(|| {
            side.next_id += 1;
            side.next_id
        });
        if let Some(id) = id {
            args.push((b"n".to_vec(), id.to_string().into_bytes()));
        }
        if let (true, Some(remote)) = (pair, &remote) {
            // The route the peer must see it on (its local name).
            args.push((b"v".to_vec(), remote.clone()));
        }
        let ok_args = encodable(&args);
        let check = side.s.check_call();
        let before = side.s.phase();
        let write = |w: &mut amp_wire::FieldWriter<'_>| put_args(w, &args);
        let r = match (&local, notify) {
            (None, true) => side.s.notify(name.bytes(), write).map(|()| side.next_tag),
            (None, false) => side.s.call(name.bytes(), write),
            (Some(l), true) => side
                .s
                .notify_on(l, name.bytes(), write)
                .map(|()| side.next_tag),
            (Some(l), false) => side.s.call_on(l, name.bytes(), write),
        };
        match (&local, &r) {
            (Some(_), Ok(_)) => count(if notify { C::notify_on } else { C::call_on }),
            (Some(_), Err(_)) if remote.is_none() => count(C::call_on_unbound),
            _ => {}
        }
        if local.is_some() && remote.is_none() {
            // A route not bound: refused, nothing written.
            assert!(
                matches!(r, Err(SendError::Encode(_))),
                "{}: call on a route not bound: {r:?}",
                side.name
            );
        } else if ok_args {
            assert_eq!(
                check.is_ok(),
                r.is_ok(),
                "{}: check_call {check:?}, call {r:?}",
                side.name
            );
        } else {
            assert!(r.is_err(), "{}: unencodable call accepted", side.name);
        }
        let Ok(tag) = r else {
            assert_eq!(side.s.phase(), before);
            return;
        };
        assert_eq!(tag, side.next_tag);
        side.next_tag += 1;
        side.sent.push_back(Sent {
            tag: (!notify).then_some(tag),
            name: name.bytes().to_vec(),
            route: remote,
        });
        let after = side.s.phase();
        assert!(
            after == before || after == Phase::Closing,
            "{}: a call moved {before:?} to {after:?}",
            side.name
        );
        if !notify {
            // Every third call has a deadline, 0 to 300 ms away (from the
            // tag: the input format stays as it was). Without `Cancel`:
            // its tag would be one the script does not foresee.
            let deadline = (tag % 3 == 0).then(|| now + Duration::from_millis(tag % 7 * 50));
            if let Some(at) = deadline {
                let set = side.s.set_call_deadline(tag, at, false);
                assert!(
                    set || side.s.is_over(),
                    "{}: a deadline refused to a call just made ({:?})",
                    side.name,
                    side.s.phase()
                );
            }
            side.issued.push(Issued {
                tag,
                name: name.bytes().to_vec(),
                id,
                plain: true,
                route: local,
                abandoned: false,
                answered: false,
                finished: false,
                deadline,
            });
        }
    }

    fn xstep(&mut self, op: XOp) {
        let pair = self.pair;
        match op {
            XOp::Bind { b, local, remote } => {
                let i = self.side_of(b);
                let l = self.sides[i].route_name(&local);
                let r = self.sides[i].route_name(&remote);
                let _ = self.bind(i, &l, &r);
            }
            XOp::Fill { b } => {
                // Once per script (it costs as much as hundreds of steps).
                if self.filled {
                    return;
                }
                self.filled = true;
                count(C::fill);
                let i = self.side_of(b);
                for side in &mut self.sides {
                    side.filling = true;
                }
                // `f<n>` both ways (mirrored in pair mode, where both
                // sides always have as many routes) until `TooMany`.
                let mut full = false;
                for n in 0..=2 * MAX_ROUTES {
                    let name = format!("f{n}").into_bytes();
                    match self.bind(i, &name, &name) {
                        Ok(()) | Err(RouteError::Bound { .. }) => {}
                        Err(RouteError::TooMany) => {
                            full = true;
                            break;
                        }
                        Err(e) => panic!("fill: {e:?}"),
                    }
                }
                assert!(full, "{} names bound, never TooMany", 2 * MAX_ROUTES);
                for side in &mut self.sides {
                    side.filling = false;
                    assert_eq!(side.s.routes_bound(), side.routes.len(), "{}", side.name);
                    for (l, r) in &side.routes {
                        assert_eq!(side.s.route_remote(l).map(|r| &r[..]), Some(&r[..]));
                    }
                }
                assert_eq!(self.sides[i].s.routes_bound(), MAX_ROUTES);
            }
            XOp::CallOn {
                b,
                route,
                name,
                args,
            } => self.call(b, name, args, false, Some(&route)),
            XOp::NotifyOn {
                b,
                route,
                name,
                args,
            } => self.call(b, name, args, true, Some(&route)),
            XOp::PushRouted { route, pb } => {
                if !pair {
                    count(C::routed_box_pushed);
                    let r = self.sides[0].route_name(&route);
                    let bytes = self.peer_box_on(&pb, Some(r));
                    self.wire[0].extend_from_slice(&bytes);
                }
            }
            XOp::PingReply { route, error } => {
                if !pair {
                    let side = &self.sides[0];
                    let tag = side.pings.last().map_or(1, |t| *t);
                    let tag = TagSel::Raw(format!("{tag:x}").into_bytes());
                    let pb = if error {
                        PeerBox::Error {
                            tag,
                            code: Some(b"UNHANDLED".to_vec()),
                            description: None,
                        }
                    } else {
                        PeerBox::Answer {
                            tag,
                            args: Vec::new(),
                        }
                    };
                    let r = route.map(|r| side.route_name(&r));
                    let bytes = self.peer_box_on(&pb, r);
                    self.wire[0].extend_from_slice(&bytes);
                }
            }
            XOp::Tick { ms } => self.advance(self.now + Duration::from_millis(ms as u64)),
            XOp::NextDeadline { b, late_ms } => {
                let i = self.side_of(b);
                let at = self.sides[i]
                    .s
                    .poll_timeout()
                    .unwrap_or(self.now)
                    .max(self.now);
                self.advance(at + Duration::from_millis(late_ms as u64));
            }
        }
    }

    /// Bind `local` → `remote` on side `i`; in pair mode the other side
    /// binds the mirror (`remote` → `local`), and neither binds unless both
    /// may, so that the routes are valid at both ends. Returns side `i`'s
    /// result (or what it would have been).
    fn bind(&mut self, i: usize, local: &[u8], remote: &[u8]) -> Result<(), RouteError> {
        if !self.pair {
            return self.sides[i].bind(local, remote);
        }
        let o = Self::other(i);
        let want_i = self.sides[i].bind_expected(local, remote);
        let want_o = self.sides[o].bind_expected(remote, local);
        // (A refused bind changes nothing: try it for its checks.)
        if want_i.is_ok() == want_o.is_ok() {
            let _ = self.sides[o].bind(remote, local);
            self.sides[i].bind(local, remote)
        } else if want_i.is_err() {
            self.sides[i].bind(local, remote)
        } else {
            let _ = self.sides[o].bind(remote, local);
            want_i
        }
    }

    /// Move the clock to `to` and handle the deadlines passed.
    fn advance(&mut self, to: Instant) {
        self.now = to;
        let pair = self.pair;
        for side in &mut self.sides {
            timeouts(side, to, pair);
        }
    }

    /// Pair mode: the ping-like requests each side saw are the other
    /// side's pings (the configured command alone, on the default
    /// conversation), or negotiations.
    fn check_pings(&mut self) {
        if !self.pair {
            return;
        }
        for i in 0..2 {
            let seen = std::mem::take(&mut self.sides[i].pings_seen);
            let other = &self.sides[Self::other(i)];
            for p in seen {
                let ping = p.tag.is_some_and(|t| other.pings.contains(&t));
                if ping {
                    count(C::ping_seen_by_peer);
                    let (_, command) = other.keepalive.as_ref().expect("pings with keepalive on");
                    assert_eq!(&p.name, command, "{}: ping {p:?}", other.name);
                    assert_eq!(p.keys, 2, "{}: ping {p:?}", other.name);
                    assert!(p.route.is_none(), "{}: ping {p:?}", other.name);
                } else {
                    assert!(
                        matches!(&p.name[..], b"StartTLS" | b"Switch"),
                        "{}: request {p:?} neither a call, a ping nor a negotiation",
                        self.sides[i].name
                    );
                }
            }
        }
    }

    fn conclude(&mut self, b: bool, idx: u8, how: How) {
        let (pair, now) = (self.pair, self.now);
        let i = self.side_of(b);
        let side = &mut self.sides[i];
        if side.requests.is_empty() {
            return;
        }
        let (id, req) = side.requests.remove(idx as usize % side.requests.len());
        let tag = req.tag.as_deref();
        let negotiation = matches!(req.name.as_ref(), b"StartTLS" | b"Switch");
        // An honest driver answers a negotiation only by agreeing or
        // failing, and a negotiation it does not handle with UNHANDLED.
        let how = if !pair {
            how
        } else {
            match (req.kind, how) {
                (CommandKind::Switch, How::Answer(_) | How::AcceptStartTls) => How::AcceptSwitch,
                (CommandKind::StartTls, How::Answer(_) | How::AcceptSwitch) => How::AcceptStartTls,
                (CommandKind::Plain, How::Answer(_) | How::AcceptSwitch | How::AcceptStartTls)
                    if negotiation =>
                {
                    How::Unhandled
                }
                (CommandKind::Plain, How::AcceptSwitch | How::AcceptStartTls) => {
                    How::Answer(Vec::new())
                }
                (_, how) => how,
            }
        };
        let before = side.s.phase();
        let deciding = matches!(before, Phase::Deciding(_));
        let deciding_this = deciding && side.deciding == Some(id);
        let was_over = side.s.is_over();
        match how {
            How::Answer(args) => {
                let mut args: Vec<(Vec<u8>, Vec<u8>)> = args
                    .iter()
                    .map(|(k, v)| (k.bytes(false), v.clone()))
                    .filter(|(k, _)| k != b"n")
                    .collect();
                if pair {
                    // Echo the call's id.
                    if let Some(n) = req.args.get("n") {
                        args.push((b"n".to_vec(), n.to_vec()));
                    }
                }
                let ok_args = encodable(&args);
                let r = side.s.answer(req.id, |w| put_args(w, &args), now);
                if ok_args {
                    assert!(r.is_ok(), "{}: {r:?}", side.name);
                } else if tag.is_some() && !was_over {
                    assert!(r.is_err());
                    assert!(side.s.is_over());
                }
            }
            How::AnswerBad => {
                let r = side.s.answer(req.id, |w| w.put_raw(b"", b"x"), now);
                if tag.is_some() && !was_over {
                    assert!(r.is_err());
                    assert!(
                        side.s.is_over(),
                        "{}: a bad answer leaves {:?}",
                        side.name,
                        side.s.phase()
                    );
                }
            }
            How::Fail { code, fatal } => {
                let code = format!("E{code}");
                side.s.fail(req.id, code.as_bytes(), "fuzz", fatal, now);
                if fatal || tag.is_none() {
                    assert!(side.s.is_over(), "{}", side.name);
                }
            }
            How::FailUnknown => {
                side.s.fail_unknown(req.id, "fuzz".into(), now);
                assert!(side.s.is_over(), "{}", side.name);
            }
            How::Unhandled => {
                side.s.unhandled(req.id, now);
                if tag.is_none() {
                    assert!(side.s.is_over(), "{}", side.name);
                }
            }
            How::AcceptSwitch => {
                let agreed = side.s.accept_switch(req.id);
                if agreed {
                    assert_eq!(side.s.phase(), Phase::HandingOver(Role::Responder));
                } else if deciding_this && req.kind == CommandKind::Switch {
                    panic!(
                        "{}: accept_switch refused the switch being decided",
                        side.name
                    );
                }
            }
            How::AcceptStartTls => {
                let agreed = side.s.accept_start_tls(req.id);
                if agreed {
                    assert_eq!(side.s.phase(), Phase::TlsFlushing(Role::Responder));
                    assert!(side.s.tls_agreed());
                } else if deciding_this && req.kind == CommandKind::StartTls {
                    panic!(
                        "{}: accept_start_tls refused the StartTLS being decided",
                        side.name
                    );
                }
            }
        }
        let still = matches!(side.s.phase(), Phase::Deciding(_));
        if deciding_this {
            assert!(!still, "{}: still deciding after concluding", side.name);
        } else if deciding && !still && !side.s.is_over() {
            // Concluding another request must not end the decision, even
            // one with the same `_ask` tag (regressions/session/
            // deciding-ended-by-same-tag).
            panic!(
                "{}: concluding request {id} ended the decision on request {:?}",
                side.name, side.deciding
            );
        }
        if !still {
            side.deciding = None;
        }
    }

    fn tls(&mut self, b: bool, ok: bool) {
        let i = self.side_of(b);
        if self.pair {
            let o = Self::other(i);
            // A handshake that was overtaken (closed meanwhile) is over.
            for s in &mut self.sides {
                if s.tls_pending.is_some() && !matches!(s.s.phase(), Phase::TlsHandshake(_)) {
                    s.tls_pending = None;
                }
            }
            match (self.sides[i].tls_pending, self.sides[o].tls_pending) {
                (Some(ri), Some(ro)) => {
                    assert_ne!(ri, ro, "both sides are TLS {ri:?}");
                    assert!(
                        self.wire[0].is_empty() && self.wire[1].is_empty(),
                        "plaintext on the wire at the TLS handshake: {:?}",
                        self.wire
                    );
                    for k in [i, o] {
                        let side = &mut self.sides[k];
                        side.tls_pending = None;
                        if ok {
                            side.s.tls_established();
                            assert_eq!(side.s.phase(), Phase::Open, "{}", side.name);
                        } else {
                            side.s
                                .tls_failed(Arc::new(std::io::Error::other("fuzz handshake")));
                            assert!(side.s.is_over());
                        }
                    }
                }
                (Some(_), None) if !ok => {
                    let side = &mut self.sides[i];
                    side.tls_pending = None;
                    side.s
                        .tls_failed(Arc::new(std::io::Error::other("fuzz handshake")));
                    assert!(side.s.is_over());
                }
                _ => {}
            }
            return;
        }
        let side = &mut self.sides[i];
        let phase = side.s.phase();
        match side.tls_pending.take() {
            Some(role) if phase == Phase::TlsHandshake(role) => {
                if ok {
                    side.s.tls_established();
                    assert_eq!(side.s.phase(), Phase::Open);
                } else {
                    side.s
                        .tls_failed(Arc::new(std::io::Error::other("fuzz handshake")));
                    assert!(side.s.is_over());
                }
            }
            _ => {
                // Out of turn: tls_established changes nothing.
                if ok {
                    side.s.tls_established();
                    assert_eq!(side.s.phase(), phase);
                }
            }
        }
    }
}

fn after_close(side: &Side, before: Phase) {
    let after = side.s.phase();
    match before {
        Phase::Closing | Phase::Closed | Phase::Switched => assert_eq!(after, before),
        _ => assert_eq!(
            after,
            Phase::Closing,
            "{}: close from {before:?}",
            side.name
        ),
    }
}

/// Move the clock: an early `handle_timeout` changes nothing; due ones
/// make progress within a few calls.
fn timeouts(side: &mut Side, now: Instant, pair: bool) {
    if side.s.poll_timeout().is_none_or(|t| t > now) {
        let phase = side.s.phase();
        side.note_keepalive(now);
        side.s.handle_timeout(now);
        assert_eq!(
            side.s.phase(),
            phase,
            "{}: an early handle_timeout acted",
            side.name
        );
        return;
    }
    for _ in 0..8 {
        match side.s.poll_timeout() {
            Some(t) if t <= now => {
                let requests = side.s.stats().requests_sent;
                // Keepalive acts only while the session reads (and writes
                // its boxes): a reply it does not read cannot be seen.
                let reading = !side.s.phase().holds() && side.s.wants_read();
                let over = side.s.is_over();
                side.note_keepalive(now);
                side.s.handle_timeout(now);
                let keepalive_end = matches!(
                    side.s.close_reason(),
                    Some(Disconnect::Timeout(Timeout::Keepalive))
                );
                assert!(
                    reading || over || !keepalive_end,
                    "{}: keepalive timeout while not reading",
                    side.name
                );
                match side.s.stats().requests_sent - requests {
                    0 => {}
                    1 => {
                        assert!(reading, "{}: a ping while not reading", side.name);
                        side.pinged(now)
                    }
                    n => panic!("{}: {n} requests sent by handle_timeout", side.name),
                }
                side.drain(pair, now);
            }
            _ => return,
        }
    }
    panic!(
        "{}: handle_timeout makes no progress ({:?}, deadline {:?}, now {:?})",
        side.name,
        side.s.phase(),
        side.s.poll_timeout(),
        now
    );
}

/// What the scripts reached, counted when `AMP_FUZZ_STATS` is set (the
/// `replay` binary prints them): evidence that the corpus gets where it
/// should.
pub mod counters {
    use std::sync::atomic::{AtomicU64, Ordering};

    macro_rules! counters {
        ($($name:ident),* $(,)?) => {
            #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
            #[derive(Clone, Copy)]
            pub(crate) enum C { $($name),* }
            const NAMES: &[&str] = &[$(stringify!($name)),*];
        };
    }
    counters! {
        keepalive_on,
        keepalive_refused,
        ping_sent,
        ping_reply_read,
        ping_seen_by_peer,
        timeout_keepalive,
        bind_new,
        bind_same_pair,
        bind_bound,
        bind_too_many,
        bind_too_long,
        fill,
        call_on,
        notify_on,
        call_on_unbound,
        routed_request,
        routed_reply,
        routed_box_pushed,
        close_unknown_route,
        close_unknown_tag_with_routes,
    }

    static COUNTS: [AtomicU64; NAMES.len()] = [const { AtomicU64::new(0) }; NAMES.len()];

    fn on() -> bool {
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ON.get_or_init(|| std::env::var_os("AMP_FUZZ_STATS").is_some())
    }

    pub(crate) fn count(c: C) {
        if on() {
            COUNTS[c as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts, by name (empty unless `AMP_FUZZ_STATS` is set).
    pub fn report() -> Vec<(&'static str, u64)> {
        if !on() {
            return Vec::new();
        }
        NAMES
            .iter()
            .zip(&COUNTS)
            .map(|(n, c)| (*n, c.load(Ordering::Relaxed)))
            .collect()
    }
}
use counters::{count, C};

/// Steps run per input at most (longer scripts mostly repeat themselves
/// and slow the fuzzer down).
const MAX_OPS: usize = 300;

/// `AMP_FUZZ_TRACE=1`: print every step and the phases after it.
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("AMP_FUZZ_TRACE").is_some())
}

/// One step of the script: format 2 reads a selector byte first (one in
/// four steps is an [`XOp`]).
fn next_step(u: &mut Unstructured<'_>, format2: bool) -> arbitrary::Result<Step> {
    if format2 && u8::arbitrary(u)? >= 0xc0 {
        return XOp::arbitrary(u).map(Step::X);
    }
    Op::arbitrary(u).map(Step::Op)
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(h) = Header::arbitrary(&mut u) else {
        return;
    };
    // Format 2: bit 1 of the first byte (unused by format 1, whose inputs
    // keep their meaning).
    let format2 = data.first().is_some_and(|b| b & 2 != 0);
    let ext = if format2 {
        let Ok(ext) = Ext::arbitrary(&mut u) else {
            return;
        };
        ext
    } else {
        Ext::default()
    };
    if trace() {
        eprintln!("{h:?}\n{ext:?}");
    }
    let now = Instant::now();
    // What the other side negotiates on (pair mode: both do as A says).
    let mut negotiated: Vec<&[u8]> = Vec::new();
    if h.pair && h.a.tls {
        negotiated.push(b"StartTLS");
    }
    if h.pair && h.a.switch {
        negotiated.push(b"Switch");
    }
    let mut sides = vec![Side::new(
        "A",
        h.a.config(&ext.a, &negotiated),
        !h.pair && h.accepted,
        h.a.tls,
        h.a.switch,
        now,
    )];
    if h.pair {
        let config = h.b.config(&ext.b, &negotiated);
        sides.push(Side::new("B", config, h.accepted, h.a.tls, h.a.switch, now));
    }
    let mut w = World {
        pair: h.pair,
        now,
        sides,
        wire: [Vec::new(), Vec::new()],
        filled: false,
    };
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let Ok(step) = next_step(&mut u, format2) else {
            break;
        };
        let shown = trace().then(|| format!("{step:?}"));
        match step {
            Step::Op(op) => w.step(op),
            Step::X(op) => w.xstep(op),
        }
        let (pair, now) = (w.pair, w.now);
        for side in &mut w.sides {
            side.drain(pair, now);
            side.check(pair);
        }
        w.check_pings();
        if let Some(op) = shown {
            let phases: Vec<String> = w
                .sides
                .iter()
                .map(|s| {
                    format!(
                        "{} {:?} in_flight={} requests={} calls={} routes={} pings={} reason={:?}",
                        s.name,
                        s.s.phase(),
                        s.s.in_flight(),
                        s.requests.len(),
                        s.issued.len(),
                        s.s.routes_bound(),
                        s.pings.len(),
                        s.s.close_reason()
                    )
                })
                .collect();
            eprintln!("{op}\n    -> {}", phases.join(" | "));
        }
    }
    // Every call resolves once the connection has ended.
    for side in &mut w.sides {
        let over = match side.s.phase() {
            Phase::Closing | Phase::Closed => true,
            Phase::Switched => !side.handover_pending,
            _ => false,
        };
        if !over {
            continue;
        }
        for c in side.issued.iter().filter(|c| !c.finished) {
            let r = side.s.poll_reply(c.tag, Waker::noop());
            assert!(
                r.is_ready(),
                "{}: call {c:?} unresolved in {:?}",
                side.name,
                side.s.phase()
            );
        }
    }
}
