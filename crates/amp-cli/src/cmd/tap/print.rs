//! What `amp tap` reports, and the printer thread that writes it to
//! stdout, as text or as JSON lines.
//!
//! Traffic never waits for the printer: events go into a bounded queue
//! (at most [`QUEUE_EVENTS`] events holding at most [`QUEUE_BYTES`] bytes
//! of boxes); when stdout is slower than the traffic and the queue is
//! full, events are dropped and counted, and the printer says how many
//! were lost before the next one it prints.

use amp::{display_bytes, AmpBox};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::splice::Dir;

/// Events waiting for stdout, at most.
pub const QUEUE_EVENTS: usize = 4096;
/// Bytes of boxes waiting for stdout, at most.
pub const QUEUE_BYTES: usize = 16 << 20;
/// Longest value shown whole in text mode (JSON shows every byte).
const TEXT_VALUE_MAX: usize = 512;

/// Something seen on tapped connection `conn`, `at` after the tap started.
#[derive(Debug)]
pub struct Event {
    /// The connection's number (from 1).
    pub conn: u64,
    /// When, since the tap started.
    pub at: Duration,
    /// What.
    pub what: What,
}

/// The kinds of events.
#[derive(Debug)]
pub enum What {
    /// A client connected and the upstream accepted.
    Connected { peer: String, upstream: String },
    /// The upstream could not be reached; the client was closed.
    Unreachable { peer: String, error: String },
    /// A box went by.
    Box {
        dir: Dir,
        kind: Kind,
        amp_box: AmpBox,
    },
    /// StartTLS was answered: TLS both ways from here on.
    StartTls,
    /// A direction (both when `None`) is not AMP any more: a protocol
    /// switch (`command` when known from the schema).
    Switched {
        dir: Option<Dir>,
        command: Option<String>,
    },
    /// Bytes that are not AMP, the undecodable box starting at `offset`.
    Malformed {
        dir: Dir,
        offset: u64,
        error: String,
    },
    /// The connection ended.
    Closed {
        up: u64,
        down: u64,
        secs: f64,
        error: Option<String>,
    },
}

/// What a box is.
#[derive(Debug)]
pub enum Kind {
    /// `_command` (with `_ask` when an answer is wanted).
    Request {
        command: String,
        tag: Option<String>,
    },
    /// `_answer`, and the request it answers if it was seen.
    Answer { tag: String, call: Option<Call> },
    /// `_error`, and the request it answers if it was seen.
    Error {
        tag: String,
        code: String,
        call: Option<Call>,
    },
    /// None of those.
    Other,
}

/// The request an answer belongs to.
#[derive(Debug)]
pub struct Call {
    /// Its command.
    pub command: String,
    /// From the request going by to its answer going by.
    pub latency: Duration,
}

/// Hands events to the printer thread; cheap to clone.
#[derive(Clone)]
pub struct Printer {
    tx: mpsc::Sender<Event>,
    queued_bytes: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    start: Instant,
}

impl Printer {
    /// Starts the printer thread (JSON lines with `json`); it ends once
    /// every `Printer` is dropped and the queue is written.
    pub fn start(json: bool) -> (Printer, std::thread::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE_EVENTS);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let (q, d) = (queued_bytes.clone(), dropped.clone());
        let thread = std::thread::spawn(move || {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            while let Some(ev) = rx.blocking_recv() {
                q.fetch_sub(weight(&ev), Ordering::Relaxed);
                let lost = d.swap(0, Ordering::Relaxed);
                let mut text = String::new();
                if lost > 0 {
                    text.push_str(&lost_line(lost, json));
                }
                text.push_str(&if json { to_json(&ev) } else { to_text(&ev) });
                if out.write_all(text.as_bytes()).is_err() {
                    return; // stdout is gone (a closed pipe): nothing to say
                }
                if rx.is_empty() && out.flush().is_err() {
                    return;
                }
            }
            let _ = out.flush();
        });
        let printer = Printer {
            tx,
            queued_bytes,
            dropped,
            start: Instant::now(),
        };
        (printer, thread)
    }

    /// Queues `what` about connection `conn`, or drops it (counted) if the
    /// queue is full.
    pub fn emit(&self, conn: u64, what: What) {
        let ev = Event {
            conn,
            at: self.start.elapsed(),
            what,
        };
        let w = weight(&ev);
        if self.queued_bytes.fetch_add(w, Ordering::Relaxed) + w > QUEUE_BYTES {
            self.queued_bytes.fetch_sub(w, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.tx.try_send(ev).is_err() {
            self.queued_bytes.fetch_sub(w, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The bytes an event holds on to.
fn weight(ev: &Event) -> usize {
    match &ev.what {
        What::Box { amp_box, .. } => amp_box.encoded_len(),
        _ => 0,
    }
}

fn lost_line(n: u64, json: bool) -> String {
    if json {
        format!("{}\n", json!({"event": "dropped", "count": n}))
    } else {
        format!("... {n} event(s) dropped: stdout was slower than the traffic\n")
    }
}

/// The event as text: a headline, then a box's entries, one per line.
fn to_text(ev: &Event) -> String {
    let head = format!("#{} +{:.6}", ev.conn, ev.at.as_secs_f64());
    match &ev.what {
        What::Connected { peer, upstream } => format!("{head} connected {peer} -> {upstream}\n"),
        What::Unreachable { peer, error } => {
            format!("{head} {peer}: upstream unreachable, closed: {error}\n")
        }
        What::StartTls => format!("{head} TLS from here on, both ways (passing bytes through)\n"),
        What::Switched { dir, command } => {
            let arrow = dir.map_or("both ways", |d| d.arrow());
            let after = command
                .as_ref()
                .map(|c| format!(" after {c}"))
                .unwrap_or_default();
            format!("{head} {arrow} switched (not AMP any more){after}: passing bytes through\n")
        }
        What::Malformed { dir, offset, error } => format!(
            "{head} {} malformed at byte {offset}: {error}; passing the rest through\n",
            dir.arrow()
        ),
        What::Closed {
            up,
            down,
            secs,
            error,
        } => {
            let why = error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            format!("{head} closed{why}: {up} bytes ->, {down} bytes <-, {secs:.3} s\n")
        }
        What::Box { dir, kind, amp_box } => {
            let mut s = format!("{head} {} {}\n", dir.arrow(), headline(kind));
            for (k, v) in amp_box.iter() {
                let shown = if v.len() > TEXT_VALUE_MAX {
                    format!(
                        "{}... ({} bytes)",
                        display_bytes(&v[..TEXT_VALUE_MAX]),
                        v.len()
                    )
                } else {
                    display_bytes(v)
                };
                s.push_str(&format!("    {}: {shown}\n", display_bytes(k)));
            }
            s
        }
    }
}

fn headline(kind: &Kind) -> String {
    let call = |c: &Option<Call>| match c {
        Some(c) => format!(" to {} in {:.3} ms", c.command, millis(c.latency)),
        None => " (request not seen)".into(),
    };
    match kind {
        Kind::Request {
            command,
            tag: Some(t),
        } => format!("{command} ask {t}"),
        Kind::Request { command, tag: None } => format!("{command} (no answer asked)"),
        Kind::Answer { tag, call: c } => format!("answer {tag}{}", call(c)),
        Kind::Error { tag, code, call: c } => format!("error {tag}{}: {code}", call(c)),
        Kind::Other => "box (neither request nor answer)".into(),
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The event as one JSON line.
fn to_json(ev: &Event) -> String {
    let mut o = Map::new();
    o.insert("conn".into(), json!(ev.conn));
    o.insert("t".into(), json!(ev.at.as_secs_f64()));
    let fields: Vec<(&str, Value)> = match &ev.what {
        What::Connected { peer, upstream } => vec![
            ("event", json!("connected")),
            ("peer", json!(peer)),
            ("upstream", json!(upstream)),
        ],
        What::Unreachable { peer, error } => vec![
            ("event", json!("unreachable")),
            ("peer", json!(peer)),
            ("error", json!(error)),
        ],
        What::StartTls => vec![("event", json!("starttls"))],
        What::Switched { dir, command } => vec![
            ("event", json!("switched")),
            ("dir", json!(dir.map_or("both", |d| d.arrow()))),
            ("command", json!(command)),
        ],
        What::Malformed { dir, offset, error } => vec![
            ("event", json!("malformed")),
            ("dir", json!(dir.arrow())),
            ("offset", json!(offset)),
            ("error", json!(error)),
        ],
        What::Closed {
            up,
            down,
            secs,
            error,
        } => vec![
            ("event", json!("closed")),
            ("bytes_out", json!(up)),
            ("bytes_in", json!(down)),
            ("secs", json!(secs)),
            ("error", json!(error)),
        ],
        What::Box { dir, kind, amp_box } => {
            let mut f = vec![("event", json!("box")), ("dir", json!(dir.arrow()))];
            let (call, more): (&Option<Call>, Vec<(&str, Value)>) = match kind {
                Kind::Request { command, tag } => (
                    &None,
                    vec![
                        ("kind", json!("request")),
                        ("command", json!(command)),
                        ("tag", json!(tag)),
                    ],
                ),
                Kind::Answer { tag, call } => {
                    (call, vec![("kind", json!("answer")), ("tag", json!(tag))])
                }
                Kind::Error { tag, code, call } => (
                    call,
                    vec![
                        ("kind", json!("error")),
                        ("tag", json!(tag)),
                        ("code", json!(code)),
                    ],
                ),
                Kind::Other => (&None, vec![("kind", json!("other"))]),
            };
            f.extend(more);
            if let Some(c) = call {
                f.push(("command", json!(c.command)));
                f.push(("latency_ms", json!(millis(c.latency))));
            }
            let entries: Map<String, Value> = amp_box
                .iter()
                .map(|(k, v)| (display_bytes(k), json!(display_bytes(v))))
                .collect();
            f.push(("box", Value::Object(entries)));
            f
        }
    };
    for (k, v) in fields {
        o.insert(k.into(), v);
    }
    format!("{}\n", Value::Object(o))
}

#[cfg(test)]
impl Printer {
    /// A printer without its thread: events stay in the returned queue.
    pub fn unattended() -> (Printer, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(QUEUE_EVENTS);
        let printer = Printer {
            tx,
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
            start: Instant::now(),
        };
        (printer, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> What {
        let mut b = AmpBox::new();
        b.insert("_answer", "1");
        b.insert("total", "94");
        let call = Some(Call {
            command: "Sum".into(),
            latency: Duration::from_micros(1500),
        });
        What::Box {
            dir: Dir::BtoA,
            kind: Kind::Answer {
                tag: "1".into(),
                call,
            },
            amp_box: b,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_never_waits() {
        let (p, _rx) = Printer::unattended();
        for _ in 0..QUEUE_EVENTS + 3 {
            p.emit(1, What::StartTls);
        }
        assert_eq!(p.dropped.load(Ordering::Relaxed), 3);
        // Bytes count too: 64 KiB boxes fill the 16 MiB first.
        let (p, _rx) = Printer::unattended();
        let mut big = AmpBox::new();
        big.insert("v", vec![b'x'; 65_000]);
        let n = QUEUE_BYTES / big.encoded_len();
        for _ in 0..n + 5 {
            let what = What::Box {
                dir: Dir::AtoB,
                kind: Kind::Other,
                amp_box: big.clone(),
            };
            p.emit(1, what);
        }
        assert_eq!(p.dropped.load(Ordering::Relaxed), 5);
        assert_eq!(
            lost_line(5, false),
            "... 5 event(s) dropped: stdout was slower than the traffic\n"
        );
    }

    #[test]
    fn text_and_json() {
        let ev = Event {
            conn: 3,
            at: Duration::from_millis(1250),
            what: answer(),
        };
        assert_eq!(
            to_text(&ev),
            "#3 +1.250000 <- answer 1 to Sum in 1.500 ms\n    _answer: 1\n    total: 94\n"
        );
        let v: Value = serde_json::from_str(&to_json(&ev)).unwrap();
        assert_eq!(v["conn"], 3);
        assert_eq!(v["dir"], "<-");
        assert_eq!(v["kind"], "answer");
        assert_eq!(v["command"], "Sum");
        assert_eq!(v["latency_ms"], 1.5);
        assert_eq!(v["box"]["total"], "94");
        let long = Event {
            conn: 1,
            at: Duration::ZERO,
            what: What::Box {
                dir: Dir::AtoB,
                kind: Kind::Other,
                amp_box: AmpBox::from_entries(vec![("k".into(), vec![b'a'; 600].into())]),
            },
        };
        assert!(to_text(&long).ends_with("... (600 bytes)\n"));
    }
}
