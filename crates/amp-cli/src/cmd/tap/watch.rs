//! Watching one tapped connection: each direction's bytes cut into boxes,
//! answers matched to their requests by tag, and the moments AMP stops
//! (StartTLS, a protocol switch, bytes that are not AMP), after which a
//! direction's bytes are passed through unparsed.
//!
//! Bounded: each direction buffers at most one box being received (up to
//! AMP's box size limit, 4 MiB, as [`amp::Config`] has it); at most
//! [`MAX_PENDING`] requests per connection wait for their answers.

use amp::{AmpBox, BoxDecoder, Config};
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use super::print::{Call, Kind, Printer, What};
use crate::splice::{Dir, Observer};

/// Requests remembered per connection while they wait for an answer
/// (AMP's default limit on requests in flight).
pub const MAX_PENDING: usize = 4096;

/// What the schema says about command names.
#[derive(Debug, Default)]
pub struct Known {
    /// Commands that switch protocols once answered.
    pub switches: HashSet<String>,
    /// Commands that start TLS once answered (besides `StartTLS`).
    pub starttls: HashSet<String>,
}

/// What a request does to the connection once answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    None,
    StartTls,
    Switch,
}

/// A request waiting for its answer.
struct Pending {
    command: String,
    at: Instant,
    effect: Effect,
}

/// One direction's parsing state.
struct Side {
    decoder: BoxDecoder,
    buf: BytesMut,
    /// Bytes of this direction in complete boxes so far.
    consumed: u64,
    /// Still parsed as AMP.
    amp: bool,
    /// This side asked for a switch the schema knows: bytes that do not
    /// parse are the new protocol's (pipelined after the request).
    switching: bool,
}

impl Side {
    fn new(config: &Config) -> Side {
        Side {
            decoder: BoxDecoder::with_limits(config.max_box_size(), config.max_box_entries()),
            buf: BytesMut::new(),
            consumed: 0,
            amp: true,
            switching: false,
        }
    }

    /// Stop parsing: from here on, bytes pass through unseen.
    fn stop(&mut self) {
        self.amp = false;
        self.buf = BytesMut::new();
        self.decoder.reset();
    }
}

/// The [`Observer`] of one tapped connection.
pub struct Watch {
    conn: u64,
    printer: Printer,
    known: Arc<Known>,
    sides: [Side; 2],
    pending: HashMap<(Dir, Bytes), Pending>,
    /// The latest box on the connection was a successful answer (what a
    /// protocol switch nobody declared looks like, just before it).
    after_answer: bool,
}

fn index(dir: Dir) -> usize {
    match dir {
        Dir::AtoB => 0,
        Dir::BtoA => 1,
    }
}

fn text(b: &[u8]) -> String {
    amp::display_bytes(b)
}

impl Watch {
    /// Watches connection number `conn`, reporting to `printer`.
    pub fn new(conn: u64, printer: Printer, known: Arc<Known>) -> Watch {
        let config = Config::default();
        Watch {
            conn,
            printer,
            known,
            sides: [Side::new(&config), Side::new(&config)],
            pending: HashMap::new(),
            after_answer: false,
        }
    }

    /// The connection ended: reports a box cut off by the end.
    pub fn finish(&mut self) {
        for dir in [Dir::AtoB, Dir::BtoA] {
            let side = &self.sides[index(dir)];
            if side.amp && !side.buf.is_empty() {
                let what = What::Malformed {
                    dir,
                    offset: side.consumed,
                    error: format!("the stream ended inside a box ({} bytes)", side.buf.len()),
                };
                self.printer.emit(self.conn, what);
            }
        }
    }

    fn emit(&self, what: What) {
        self.printer.emit(self.conn, what);
    }

    /// A whole box went `dir`.
    fn on_box(&mut self, dir: Dir, b: AmpBox) {
        let now = Instant::now();
        let kind = if let Some(name) = b.get("_command") {
            let command = text(name);
            let effect = if command == "StartTLS" || self.known.starttls.contains(&command) {
                Effect::StartTls
            } else if self.known.switches.contains(&command) {
                self.sides[index(dir)].switching = true;
                Effect::Switch
            } else {
                Effect::None
            };
            let tag = b.get_bytes("_ask");
            if let Some(tag) = &tag {
                if self.pending.len() < MAX_PENDING {
                    let p = Pending {
                        command: command.clone(),
                        at: now,
                        effect,
                    };
                    self.pending.insert((dir, tag.clone()), p);
                }
            }
            self.after_answer = false;
            Kind::Request {
                command,
                tag: tag.map(|t| text(&t)),
            }
        } else if let Some(tag) = b.get_bytes("_answer") {
            let p = self.pending.remove(&(dir.reverse(), tag.clone()));
            self.after_answer = true;
            let effect = p.as_ref().map_or(Effect::None, |p| p.effect);
            let call = p.map(|p| Call {
                latency: now - p.at,
                command: p.command,
            });
            let command = call.as_ref().map(|c| c.command.clone());
            let kind = Kind::Answer {
                tag: text(&tag),
                call,
            };
            self.emit(What::Box {
                dir,
                kind,
                amp_box: b,
            });
            match effect {
                Effect::None => {}
                Effect::StartTls => {
                    self.sides.iter_mut().for_each(Side::stop);
                    self.emit(What::StartTls);
                }
                Effect::Switch => {
                    self.sides.iter_mut().for_each(Side::stop);
                    self.emit(What::Switched { dir: None, command });
                }
            }
            return;
        } else if let Some(tag) = b.get_bytes("_error") {
            let p = self.pending.remove(&(dir.reverse(), tag.clone()));
            if p.as_ref().is_some_and(|p| p.effect == Effect::Switch) {
                self.sides[index(dir.reverse())].switching = false;
            }
            self.after_answer = false;
            Kind::Error {
                tag: text(&tag),
                code: b.get("_error_code").map(text).unwrap_or_default(),
                call: p.map(|p| Call {
                    latency: now - p.at,
                    command: p.command,
                }),
            }
        } else {
            Kind::Other
        };
        self.emit(What::Box {
            dir,
            kind,
            amp_box: b,
        });
    }

    /// Bytes going `dir` do not parse as AMP.
    fn on_undecodable(&mut self, dir: Dir, error: amp::ProtocolError) {
        let side = &self.sides[index(dir)];
        let what = if side.switching || self.after_answer {
            What::Switched {
                dir: Some(dir),
                command: None,
            }
        } else {
            What::Malformed {
                dir,
                offset: side.consumed,
                error: error.to_string(),
            }
        };
        self.sides[index(dir)].stop();
        self.emit(what);
    }
}

impl Observer for Watch {
    fn chunk(&mut self, dir: Dir, bytes: &[u8]) {
        let i = index(dir);
        if !self.sides[i].amp {
            return;
        }
        self.sides[i].buf.extend_from_slice(bytes);
        loop {
            let side = &mut self.sides[i];
            if !side.amp {
                return;
            }
            let before = side.buf.len();
            match side.decoder.decode(&mut side.buf) {
                Ok(Some(b)) => {
                    side.consumed += (before - side.buf.len()) as u64;
                    self.on_box(dir, b);
                }
                Ok(None) => return,
                Err(e) => return self.on_undecodable(dir, e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::tap::print::Event;
    use tokio::sync::mpsc::Receiver;

    fn wire(entries: &[(&'static str, &'static str)]) -> Vec<u8> {
        let mut b = AmpBox::new();
        for (k, v) in entries {
            b.insert(*k, *v);
        }
        b.to_bytes().unwrap().to_vec()
    }

    fn watch(known: Known) -> (Watch, Receiver<Event>) {
        let (printer, rx) = Printer::unattended();
        (Watch::new(1, printer, Arc::new(known)), rx)
    }

    fn events(rx: &mut Receiver<Event>) -> Vec<What> {
        std::iter::from_fn(|| rx.try_recv().ok().map(|e| e.what)).collect()
    }

    #[test]
    fn boxes_split_anywhere_and_answers_matched() {
        let (mut w, mut rx) = watch(Known::default());
        let request = wire(&[("_ask", "7"), ("_command", "Sum"), ("a", "1")]);
        for byte in &request {
            w.chunk(Dir::AtoB, std::slice::from_ref(byte));
        }
        w.chunk(Dir::BtoA, &wire(&[("_answer", "7"), ("total", "2")]));
        let seen = events(&mut rx);
        assert!(matches!(&seen[..], [
            What::Box { kind: Kind::Request { command, tag: Some(t) }, .. },
            What::Box { kind: Kind::Answer { call: Some(call), .. }, .. },
        ] if command == "Sum" && t == "7" && call.command == "Sum"));
    }

    #[test]
    fn after_starttls_both_ways_pass_unparsed() {
        let (mut w, mut rx) = watch(Known::default());
        w.chunk(Dir::AtoB, &wire(&[("_ask", "1"), ("_command", "StartTLS")]));
        let mut answer = wire(&[("_answer", "1")]);
        answer.extend_from_slice(b"\x16\x03\x01 not AMP");
        w.chunk(Dir::BtoA, &answer);
        w.chunk(Dir::AtoB, b"\x16\x03\x03 a ClientHello");
        w.finish();
        let seen = events(&mut rx);
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(matches!(seen[2], What::StartTls));
    }

    #[test]
    fn switches_known_from_the_schema_or_guessed() {
        let known = Known {
            switches: HashSet::from(["Connect".to_owned()]),
            ..Known::default()
        };
        let (mut w, mut rx) = watch(known);
        w.chunk(Dir::AtoB, &wire(&[("_ask", "1"), ("_command", "Connect")]));
        w.chunk(Dir::BtoA, &wire(&[("_answer", "1")]));
        let seen = events(&mut rx);
        assert!(
            matches!(&seen[2], What::Switched { dir: None, command: Some(c) } if c == "Connect")
        );

        let (mut w, mut rx) = watch(Known::default());
        w.chunk(Dir::AtoB, &wire(&[("_ask", "1"), ("_command", "Other")]));
        w.chunk(Dir::BtoA, &wire(&[("_answer", "1")]));
        w.chunk(Dir::AtoB, b"hello, new protocol");
        let seen = events(&mut rx);
        assert!(matches!(
            seen[2],
            What::Switched {
                dir: Some(Dir::AtoB),
                command: None
            }
        ));
    }

    #[test]
    fn malformed_bytes_reported_with_their_offset() {
        let (mut w, mut rx) = watch(Known::default());
        let mut bytes = wire(&[("k", "v")]);
        bytes.extend_from_slice(b"\x01\x00 a key of 256 bytes");
        w.chunk(Dir::AtoB, &bytes);
        w.chunk(Dir::AtoB, &wire(&[("_ask", "1"), ("_command", "Ignored")]));
        w.chunk(Dir::BtoA, b"\x00\x01");
        w.finish();
        let seen = events(&mut rx);
        assert!(matches!(
            seen[0],
            What::Box {
                kind: Kind::Other,
                ..
            }
        ));
        assert!(matches!(
            seen[1],
            What::Malformed {
                dir: Dir::AtoB,
                offset: 8,
                ..
            }
        ));
        assert!(matches!(
            seen[2],
            What::Malformed {
                dir: Dir::BtoA,
                offset: 0,
                ..
            }
        ));
        assert_eq!(
            seen.len(),
            3,
            "nothing parsed after the bad bytes: {seen:?}"
        );
    }
}
