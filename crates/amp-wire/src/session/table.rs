//! The transition table, as data: every phase change the session makes,
//! from which phases, on what, to which phase, and what comes with it.
//!
//! The session changes phase in one place, `Session::enter`, which checks
//! the change against [`TABLE`] ([`allowed`]). The table in the module
//! documentation (and in `docs/PROTOCOL.md`) is [`TABLE`] rendered as
//! Markdown; a test keeps them equal.

use super::{CommandKind, Disconnect, Phase, Role, Session, State};
use CommandKind::{StartTls as DecidingTls, Switch as DecidingSwitch};
use Phase::{
    Closed, Closing, Deciding, Draining, HandingOver, Open, Switched, Switching, TlsFlushing,
    TlsHandshake, TlsRequested,
};
use Role::{Requester, Responder};

/// What moves the session from one phase to another (the table's "on").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum On {
    /// Our `switch`.
    Switch,
    /// Our `start_tls`.
    StartTls,
    /// The peer's request for a switch command we answer, let through.
    PeerSwitch,
    /// The peer's `StartTLS`, which we answer, let through.
    PeerStartTls,
    /// `shutdown`, with no negotiation under way.
    Shutdown,
    /// `accept_switch` of the switch being decided.
    AcceptSwitch,
    /// `accept_start_tls` of the StartTLS being decided.
    AcceptStartTls,
    /// The negotiation being decided concluded any other way.
    Concluded,
    /// The answer to our switch or StartTLS.
    Answer,
    /// An error in reply to our switch or StartTLS.
    Error,
    /// Everything before the handshake or the hand-over was written.
    Flushed,
    /// Everything before the handshake was written, and the peer sent
    /// bytes meanwhile.
    Plaintext,
    /// `tls_established`.
    TlsEstablished,
    /// `tls_failed` during the handshake.
    TlsFailed,
    /// A draining connection has nothing left to do.
    Drained,
    /// A request marked `close_after_reply` was concluded.
    Quit,
    /// Anything else that ends the connection.
    End,
    /// `finish`, or the closing deadline.
    Finish,
}

impl On {
    /// The "on" column.
    #[cfg_attr(not(test), allow(dead_code))] // the documentation's, rendered by a test
    pub(crate) const fn text(self) -> &'static str {
        match self {
            On::Switch => "`switch`",
            On::StartTls => "`start_tls`",
            On::PeerSwitch => "a request for a switch command we answer",
            On::PeerStartTls => "a `StartTLS` request we answer",
            On::Shutdown => "`shutdown`",
            On::AcceptSwitch => "`accept_switch`",
            On::AcceptStartTls => "`accept_start_tls`",
            On::Concluded => "any other conclusion of that request",
            On::Answer => "the answer",
            On::Error => "an error",
            On::Flushed => "all output written",
            On::Plaintext => "all output written, with bytes already read",
            On::TlsEstablished => "`tls_established`",
            On::TlsFailed => "`tls_failed`",
            On::Drained => "nothing in flight, no call unanswered",
            On::Quit => "a request marked `close_after_reply` concluded",
            On::End => {
                "a protocol violation, end of stream, `close`, `abort`, `shutdown` \
                 (during a negotiation), a deadline, a fatal or unknown error, too much held"
            }
            On::Finish => "`finish`, or its deadline",
        }
    }
}

/// The phases a row starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phases {
    /// These.
    Only(&'static [Phase]),
    /// Every phase but these.
    AnyBut(&'static [Phase]),
}

impl Phases {
    pub(crate) fn contains(self, phase: Phase) -> bool {
        match self {
            Phases::Only(these) => these.contains(&phase),
            Phases::AnyBut(these) => PHASES.contains(&phase) && !these.contains(&phase),
        }
    }
}

/// One row of the table: from any of `from`, on `on`, to `to`; `and`
/// says what comes with it. (The session checks `from` and `to`; the
/// crate's tests check `on` too, and render the documentation from all.)
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) from: Phases,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) on: On,
    pub(crate) to: Phase,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) and: &'static str,
}

/// Every phase a session can be in, in the order the documentation lists
/// them. (`Deciding(Plain)` cannot be: a plain request is never decided.)
pub(crate) const PHASES: [Phase; 15] = [
    Open,
    Draining,
    Switching,
    TlsRequested,
    Deciding(DecidingSwitch),
    Deciding(DecidingTls),
    TlsFlushing(Requester),
    TlsFlushing(Responder),
    TlsHandshake(Requester),
    TlsHandshake(Responder),
    HandingOver(Requester),
    HandingOver(Responder),
    Switched,
    Closing,
    Closed,
];

const DECIDING: &[Phase] = &[Deciding(DecidingSwitch), Deciding(DecidingTls)];
const TLS_FLUSHING: &[Phase] = &[TlsFlushing(Requester), TlsFlushing(Responder)];
const TLS_HANDSHAKE: &[Phase] = &[TlsHandshake(Requester), TlsHandshake(Responder)];

/// Every phase change the session makes. A change not listed here is a
/// bug.
pub(crate) const TABLE: &[Row] = &[
    Row {
        from: Phases::Only(&[Open]),
        on: On::Switch,
        to: Switching,
        and: "request written; later boxes held",
    },
    Row {
        from: Phases::Only(&[Open]),
        on: On::StartTls,
        to: TlsRequested,
        and: "request written; later boxes held",
    },
    Row {
        from: Phases::Only(&[Open]),
        on: On::PeerSwitch,
        to: Deciding(DecidingSwitch),
        and: "`Event::Request`; decoding stops right after it",
    },
    Row {
        from: Phases::Only(&[Open]),
        on: On::PeerStartTls,
        to: Deciding(DecidingTls),
        and: "`Event::Request`; decoding stops right after it",
    },
    Row {
        from: Phases::Only(&[Open]),
        on: On::Shutdown,
        to: Draining,
        and: "requests refused `SHUTTING_DOWN` from now on",
    },
    Row {
        from: Phases::Only(&[Deciding(DecidingSwitch)]),
        on: On::AcceptSwitch,
        to: HandingOver(Responder),
        and: "`_answer` written; our calls fail `Disconnect::Switched`",
    },
    Row {
        from: Phases::Only(&[Deciding(DecidingTls)]),
        on: On::AcceptStartTls,
        to: TlsFlushing(Responder),
        and: "answer written in clear; later boxes held",
    },
    Row {
        from: Phases::Only(DECIDING),
        on: On::Concluded,
        to: Open,
        and: "decoding resumes",
    },
    Row {
        from: Phases::Only(&[Switching]),
        on: On::Answer,
        to: HandingOver(Requester),
        and: "held boxes dropped; our other calls fail `Disconnect::Switched`",
    },
    Row {
        from: Phases::Only(&[Switching]),
        on: On::Error,
        to: Open,
        and: "held boxes written; the switch call fails",
    },
    Row {
        from: Phases::Only(&[TlsRequested]),
        on: On::Answer,
        to: TlsFlushing(Requester),
        and: "decoding stops",
    },
    Row {
        from: Phases::Only(&[TlsRequested]),
        on: On::Error,
        to: Open,
        and: "held boxes written; the StartTLS call fails; StartTLS may be asked again",
    },
    Row {
        from: Phases::Only(&[TlsFlushing(Requester)]),
        on: On::Flushed,
        to: TlsHandshake(Requester),
        and: "`Event::StartTls(Requester)`: we are the TLS client",
    },
    Row {
        from: Phases::Only(&[TlsFlushing(Responder)]),
        on: On::Flushed,
        to: TlsHandshake(Responder),
        and: "`Event::StartTls(Responder)`: we are the TLS server",
    },
    Row {
        from: Phases::Only(TLS_FLUSHING),
        on: On::Plaintext,
        to: Closing,
        and: "`Disconnect::PlaintextBeforeTls` (plaintext injection); nothing more written",
    },
    Row {
        from: Phases::Only(TLS_HANDSHAKE),
        on: On::TlsEstablished,
        to: Open,
        and: "held boxes written; our StartTLS call answered",
    },
    Row {
        from: Phases::Only(TLS_HANDSHAKE),
        on: On::TlsFailed,
        to: Closing,
        and: "`Disconnect::Tls`; nothing more written",
    },
    Row {
        from: Phases::Only(&[HandingOver(Requester)]),
        on: On::Flushed,
        to: Switched,
        and: "`Event::HandOver` with the bytes read past the answer",
    },
    Row {
        from: Phases::Only(&[HandingOver(Responder)]),
        on: On::Flushed,
        to: Switched,
        and: "`Event::HandOver` with the bytes read past the request",
    },
    Row {
        from: Phases::Only(&[Draining]),
        on: On::Drained,
        to: Closing,
        and: "`Disconnect::Shutdown`",
    },
    Row {
        from: Phases::AnyBut(&[
            HandingOver(Requester),
            HandingOver(Responder),
            Switched,
            Closing,
            Closed,
        ]),
        on: On::Quit,
        to: Closing,
        and: "its reply written first; `Disconnect::Quit`",
    },
    Row {
        from: Phases::AnyBut(&[Switched, Closing, Closed]),
        on: On::End,
        to: Closing,
        and: "calls fail with the reason; held boxes dropped",
    },
    Row {
        from: Phases::Only(&[Closing]),
        on: On::Finish,
        to: Closed,
        and: "nothing more to do but drop the transport",
    },
];

impl Session {
    /// Go to phase `to`, on `on`: the one way the phase changes. A change
    /// [`TABLE`] does not list is a bug: debug builds panic; release builds
    /// refuse it and end the connection at once with
    /// [`Disconnect::IllegalTransition`], so the session is never in a
    /// phase nobody designed it to reach that way.
    pub(crate) fn enter(&mut self, on: On, to: State) {
        let (from, next) = (self.state.phase(), to.phase());
        if !allowed(from, next) {
            debug_assert!(
                false,
                "illegal phase change: {from:?} -> {next:?} on {on:?}"
            );
            self.refuse_transition(from, next);
            return;
        }
        // The crate's tests check the trigger too: every change they make
        // is a row of the table.
        #[cfg(test)]
        {
            assert!(
                listed(from, on, next),
                "no row {from:?} -> {next:?} on {on:?}"
            );
            self.trace.push((from, on, next));
        }
        self.state = to;
    }

    /// A phase change from `from` to `to` was refused: AMP ends at once
    /// (a phase that is over stays as it is: nothing is left to protect).
    pub(crate) fn refuse_transition(&mut self, from: Phase, to: Phase) {
        self.close_at_once(Disconnect::IllegalTransition { from, to });
    }
}

/// Whether the table lets the session go from `from` to `to` (on
/// anything).
pub(crate) fn allowed(from: Phase, to: Phase) -> bool {
    TABLE.iter().any(|r| r.to == to && r.from.contains(from))
}

/// Whether a row of the table says `from`, on `on`, goes to `to`.
#[cfg(test)]
pub(crate) fn listed(from: Phase, on: On, to: Phase) -> bool {
    TABLE
        .iter()
        .any(|r| r.on == on && r.to == to && r.from.contains(from))
}

/// [`TABLE`] as a Markdown table (what the documentation shows).
#[cfg(test)]
pub(crate) fn markdown() -> String {
    let mut out = String::from("| from | on | to | and |\n|---|---|---|---|\n");
    for row in TABLE {
        let from = match row.from {
            Phases::Only(these) => names(these),
            Phases::AnyBut(these) => format!("any but {}", names(these)),
        };
        let and = row.and;
        out += &format!("| {from} | {} | `{:?}` | {and} |\n", row.on.text(), row.to);
    }
    out
}

/// A set of phases by name, in [`PHASES`] order; a phase whose variants
/// are all in the set (both roles, both kinds) is named once, without its
/// data.
#[cfg(test)]
fn names(set: &[Phase]) -> String {
    let family = |p: &Phase| {
        let name = format!("{p:?}");
        name.split('(').next().unwrap_or_default().to_owned()
    };
    let mut out: Vec<String> = Vec::new();
    for p in PHASES.iter().filter(|p| set.contains(p)) {
        let fam = family(p);
        let whole = PHASES
            .iter()
            .filter(|q| family(q) == fam)
            .all(|q| set.contains(q));
        let name = if whole { fam } else { format!("{p:?}") };
        let name = format!("`{name}`");
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out.join(", ")
}
