//! The transition table itself (`session::table`): every row taken, every
//! other change refused, and the documentation rendered from it.

use super::*;
use crate::session::table::{allowed, On, Phases, PHASES, TABLE};
use std::collections::HashSet;

/// Every value of [`Phase`], reachable or not (`Deciding(Plain)` is not).
fn every_phase() -> Vec<Phase> {
    use Phase::*;
    let kinds = [
        CommandKind::Plain,
        CommandKind::Switch,
        CommandKind::StartTls,
    ];
    let roles = [Role::Requester, Role::Responder];
    let mut all = vec![Open, Draining, Switching, TlsRequested];
    all.extend(kinds.map(Deciding));
    all.extend(roles.map(TlsFlushing));
    all.extend(roles.map(TlsHandshake));
    all.extend(roles.map(HandingOver));
    all.extend([Switched, Closing, Closed]);
    for p in &all {
        // A new phase must be added above (and to the table's `PHASES`).
        match p {
            Open | Draining | Switching | TlsRequested | Deciding(_) | TlsFlushing(_)
            | TlsHandshake(_) | HandingOver(_) | Switched | Closing | Closed => {}
        }
    }
    all
}

/// The (from, to) pairs the rows list, spelled out here apart from the
/// table's own lookup.
fn listed_pairs() -> HashSet<(Phase, Phase)> {
    let mut pairs = HashSet::new();
    for row in TABLE {
        let from: Vec<Phase> = match row.from {
            Phases::Only(these) => these.to_vec(),
            Phases::AnyBut(these) => PHASES
                .iter()
                .copied()
                .filter(|p| !these.contains(p))
                .collect(),
        };
        for f in from {
            pairs.insert((f, row.to));
        }
    }
    pairs
}

#[test]
fn the_phases_are_every_reachable_phase() {
    let reachable: Vec<Phase> = every_phase()
        .into_iter()
        .filter(|p| *p != Phase::Deciding(CommandKind::Plain))
        .collect();
    assert_eq!(PHASES.to_vec(), reachable);
}

#[test]
fn every_pair_not_in_the_table_is_refused() {
    let listed = listed_pairs();
    let mut refused = 0;
    for from in every_phase() {
        for to in every_phase() {
            let listed = listed.contains(&(from, to));
            assert_eq!(allowed(from, to), listed, "{from:?} -> {to:?}");
            refused += usize::from(!listed);
        }
    }
    // 16 × 16 values, of which 32 pairs are listed.
    assert_eq!(listed.len(), 32);
    assert_eq!(refused, 16 * 16 - 32);
    // A few that would be easy to get wrong.
    use Phase::*;
    for (from, to) in [
        (Closed, Open),
        (Closed, Closing),
        (Switched, Closing),
        (Switched, Open),
        (Closing, Open),
        (Open, Open),
        (Open, Closed),
        (Open, HandingOver(Role::Responder)),
        (Open, TlsFlushing(Role::Responder)),
        (Draining, Open),
        (Draining, Switching),
        (Deciding(CommandKind::Switch), TlsFlushing(Role::Responder)),
        (
            Deciding(CommandKind::StartTls),
            HandingOver(Role::Responder),
        ),
        (Deciding(CommandKind::Plain), Open),
        (TlsFlushing(Role::Requester), TlsHandshake(Role::Responder)),
        (TlsHandshake(Role::Requester), Switching),
        (HandingOver(Role::Requester), Open),
        (HandingOver(Role::Requester), Switched), /* listed: the control */
    ] {
        let want = (from, to) == (HandingOver(Role::Requester), Switched);
        assert_eq!(allowed(from, to), want, "{from:?} -> {to:?}");
    }
}

/// What release builds do with a change the table refuses: AMP ends at
/// once, with a reason that says which change it was; a phase that is
/// over stays as it is.
#[test]
fn a_refused_change_ends_the_connection() {
    for from in PHASES {
        let mut h = reach(from, false);
        let pending = h.call_if_open();
        let to = every_phase()
            .into_iter()
            .find(|to| !allowed(from, *to))
            .expect("a refused change");
        h.s.refuse_transition(from, to);
        if matches!(from, Phase::Switched | Phase::Closing | Phase::Closed) {
            assert_eq!(h.phase(), from, "{from:?}: over already");
            continue;
        }
        assert_eq!(h.phase(), Phase::Closing, "{from:?}");
        assert!(
            matches!(h.reason(), Disconnect::IllegalTransition { from: f, to: t } if f == from && t == to),
            "{from:?}: {:?}",
            h.reason()
        );
        assert!(h.s.discard_output(), "{from:?}: nothing more is written");
        if let Some(tag) = pending {
            assert!(
                matches!(
                    h.reply(tag),
                    Poll::Ready(Reply::Lost(Disconnect::IllegalTransition { .. }))
                ),
                "{from:?}"
            );
        }
    }
}

/// The Markdown table starting at the line `| from | on | to | and |` in
/// `text` (each line with `prefix` removed), and how many such tables the
/// text has.
fn documented(text: &str, prefix: &str) -> (String, usize) {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_prefix(prefix).unwrap_or(l))
        .collect();
    let header = "| from | on | to | and |";
    let count = lines.iter().filter(|l| **l == header).count();
    let table = lines
        .iter()
        .skip_while(|l| **l != header)
        .take_while(|l| l.starts_with('|'))
        .fold(String::new(), |out, l| out + l + "\n");
    (table, count)
}

/// The documentation shows the table the session checks against, exactly:
/// the session's module documentation and `docs/PROTOCOL.md` both.
#[test]
fn the_documented_table_is_the_code_table() {
    let want = crate::session::table::markdown();
    let docs = [
        ("session/mod.rs", include_str!("../mod.rs"), "//! "),
        (
            "docs/PROTOCOL.md",
            include_str!("../../../../../docs/PROTOCOL.md"),
            "",
        ),
    ];
    for (name, text, prefix) in docs {
        let (table, count) = documented(text, prefix);
        assert_eq!(count, 1, "{name}: one transition table");
        assert!(
            table == want,
            "{name}: the transition table differs from the code's; it should read:\n\n{want}"
        );
    }
}

/// Debug builds stop at an illegal change (a bug) rather than go on.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "illegal phase change")]
fn an_illegal_change_panics_in_debug_builds() {
    let mut h = reach(Phase::Closed, false);
    h.s.enter(On::End, State::Open { tls: Tls::Clear });
}

/// What makes `on` happen to a session reached by [`reach`] (with a busy
/// request in flight when [`needs_busy`] says so).
fn act(on: On, h: &mut H) {
    match on {
        On::Switch => {
            h.s.switch(b"Switch", |_| Ok(())).unwrap();
        }
        On::StartTls => {
            h.s.start_tls().unwrap();
        }
        On::PeerSwitch => {
            h.requested("Switch", Some("s1"));
        }
        On::PeerStartTls => {
            h.requested("StartTLS", Some("t1"));
        }
        On::Shutdown => h.s.shutdown(h.now),
        On::AcceptSwitch => assert!(h.s.accept_switch(h.last())),
        On::AcceptStartTls => assert!(h.s.accept_start_tls(h.last())),
        On::Concluded => h.s.fail(h.last(), b"NO", "no", false, h.now),
        // Our switch or StartTLS is our first call: tag 1.
        On::Answer => {
            h.feed(&[("_answer", "1")]);
            h.events();
        }
        On::Error => {
            h.feed(&[("_error", "1"), ("_error_code", "NO")]);
            h.events();
        }
        On::Flushed => {
            h.out();
            h.events();
        }
        On::Plaintext => {
            h.s.feed(b"plaintext", h.now);
            h.out();
            h.events();
        }
        On::TlsEstablished => h.s.tls_established(),
        On::TlsFailed => {
            h.s.tls_failed(std::sync::Arc::new(std::io::Error::other("bad")));
        }
        On::Drained => {
            h.s.answer(h.ids[0], |_| Ok(()), h.now).unwrap();
            h.events();
        }
        On::Quit => {
            assert!(h.s.close_after_reply(h.ids[0]));
            h.s.answer(h.ids[0], |_| Ok(()), h.now).unwrap();
        }
        On::End => h.s.close(h.now),
        On::Finish => {
            h.out();
            h.s.finish();
        }
    }
}

/// The triggers that act on the peer's request in flight.
fn needs_busy(on: On) -> bool {
    matches!(on, On::Drained | On::Quit)
}

/// Every row of the table, from every phase it lists: the session, in
/// that phase, makes that change on that trigger (and it is the first
/// change it makes).
#[test]
fn every_row_is_taken_from_every_phase_it_lists() {
    let mut taken = 0;
    for row in TABLE {
        for from in PHASES.into_iter().filter(|p| row.from.contains(*p)) {
            let mut h = reach(from, needs_busy(row.on));
            act(row.on, &mut h);
            assert_eq!(
                h.s.trace.first(),
                Some(&(from, row.on, row.to)),
                "{from:?} on {:?}: {:?}",
                row.on,
                h.s.trace
            );
            assert_eq!(h.phase(), h.s.trace.last().expect("a change").2);
            taken += 1;
        }
    }
    // Every trigger has a row.
    let all_on = [
        On::Switch,
        On::StartTls,
        On::PeerSwitch,
        On::PeerStartTls,
        On::Shutdown,
        On::AcceptSwitch,
        On::AcceptStartTls,
        On::Concluded,
        On::Answer,
        On::Error,
        On::Flushed,
        On::Plaintext,
        On::TlsEstablished,
        On::TlsFailed,
        On::Drained,
        On::Quit,
        On::End,
        On::Finish,
    ];
    for on in all_on {
        assert!(TABLE.iter().any(|r| r.on == on), "{on:?} has no row");
        // (A new trigger must be added above, and acted on in `act`.)
        match on {
            On::Switch
            | On::StartTls
            | On::PeerSwitch
            | On::PeerStartTls
            | On::Shutdown
            | On::AcceptSwitch
            | On::AcceptStartTls
            | On::Concluded
            | On::Answer
            | On::Error
            | On::Flushed
            | On::Plaintext
            | On::TlsEstablished
            | On::TlsFailed
            | On::Drained
            | On::Quit
            | On::End
            | On::Finish => {}
        }
    }
    // 23 rows: 17 from one phase, 4 from two, and the two "any but" rows
    // from 10 and 12.
    assert_eq!(TABLE.len(), 23);
    assert_eq!(taken, 17 + 4 * 2 + 10 + 12);
}

impl H {
    /// A call of ours, if calls may be made now (its tag).
    fn call_if_open(&mut self) -> Option<u64> {
        self.s.call(b"Sum", |_| Ok(())).ok()
    }
}

/// A session in `phase`, reached the way a connection reaches it, with no
/// phase change recorded yet. With `busy`, a plain request of the peer
/// (tag `busy`, `h.ids[0]`) is in flight first (a draining session always
/// has one).
pub(super) fn reach(phase: Phase, busy: bool) -> H {
    use Phase::*;
    let mut h = H::new();
    if busy || phase == Draining {
        h.requested("Sum", Some("busy"));
    }
    match phase {
        Open => {}
        Draining => h.s.shutdown(h.now),
        Switching => {
            h.s.switch(b"Switch", |_| Ok(())).unwrap();
            h.out();
        }
        TlsRequested => {
            h.s.start_tls().unwrap();
            h.out();
        }
        Deciding(CommandKind::Switch) => {
            h.requested("Switch", Some("s1"));
        }
        Deciding(CommandKind::StartTls) => {
            h.requested("StartTLS", Some("t1"));
        }
        Deciding(CommandKind::Plain) => panic!("a plain request is never decided"),
        TlsFlushing(Role::Requester) => {
            // Answered while our request is still unwritten.
            h.s.start_tls().unwrap();
            h.feed(&[("_answer", "1")]);
            h.events();
        }
        TlsFlushing(Role::Responder) => {
            h.requested("StartTLS", Some("t1"));
            assert!(h.s.accept_start_tls(h.last()));
        }
        TlsHandshake(Role::Requester) => {
            h.s.start_tls().unwrap();
            h.out();
            h.feed(&[("_answer", "1")]);
            h.events();
        }
        TlsHandshake(Role::Responder) => {
            h.requested("StartTLS", Some("t1"));
            assert!(h.s.accept_start_tls(h.last()));
            h.out();
            h.events();
        }
        HandingOver(Role::Requester) => {
            // Answered while our request is still unwritten.
            h.s.switch(b"Switch", |_| Ok(())).unwrap();
            h.feed(&[("_answer", "1")]);
            h.events();
        }
        HandingOver(Role::Responder) => {
            h.requested("Switch", Some("s1"));
            assert!(h.s.accept_switch(h.last()));
        }
        Switched => {
            h = reach(HandingOver(Role::Requester), busy);
            h.out();
            h.events();
            assert!(h.s.handed_over());
        }
        Closing => {
            h.call();
            h.s.close(h.now);
        }
        Closed => {
            h = reach(Closing, busy);
            h.out();
            h.s.finish();
        }
    }
    assert_eq!(h.phase(), phase);
    h.s.trace.clear();
    h
}
