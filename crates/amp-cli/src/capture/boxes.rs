//! Boxes out of captured streams: each direction of each connection
//! decoded on its own, answers matched to the asks of the same connection
//! (with the time between them), a stream picked up mid-connection
//! resynchronised at the first whole box, and a connection no longer
//! followed once it stops being AMP (StartTLS, a protocol switch).

use amp::{AmpBox, BoxDecoder};
use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use super::tcp::{Dir, Event};
use crate::schema::Schema;
use crate::value::record::{Asks, Head, Kind};
use crate::value::{read_box, render};

/// Bytes searched for a box boundary in a stream picked up in its middle
/// before the search gives up on them.
const RESYNC_WINDOW: usize = 256 << 10;
/// Bytes a box found while resynchronising may span (larger ones are
/// missed: the next box is found instead).
const PROBE: usize = 64 << 10;

/// One direction of one connection.
struct Stream {
    buf: BytesMut,
    decoder: BoxDecoder,
    /// Bytes before the next box are of unknown alignment (the capture
    /// started mid-connection, or lost bytes): find a box start first.
    resync: bool,
    /// Time of the newest bytes.
    time: Duration,
}

/// One connection.
struct Conn {
    up_from: SocketAddr,
    up_to: SocketAddr,
    streams: [Stream; 2],
    /// Asks of each direction, waiting for answers from the other one.
    asks: [Asks; 2],
    /// When each request (by number) was seen, for the answer's latency.
    asked_at: HashMap<u64, Duration>,
    /// No longer followed, and why (said once).
    stopped: Option<String>,
    /// Asks whose answer ends the AMP on this connection (`StartTLS`, or a
    /// protocol switch the schema declares), with what follows it.
    enders: Vec<(Dir, Bytes, &'static str)>,
}

/// Prints the boxes of a capture's connections.
pub struct Printer<'s, W: Write> {
    schema: Option<&'s Schema>,
    json: bool,
    out: W,
    conns: Vec<Conn>,
    /// Boxes printed so far (numbers run across connections).
    n: u64,
    /// The first capture time, which text times count from.
    epoch: Option<Duration>,
}

impl<'s, W: Write> Printer<'s, W> {
    /// A printer writing to `out`.
    pub fn new(schema: Option<&'s Schema>, json: bool, out: W) -> Self {
        Printer {
            schema,
            json,
            out,
            conns: Vec::new(),
            n: 0,
            epoch: None,
        }
    }

    /// The writer, to flush.
    pub fn out(&mut self) -> &mut W {
        &mut self.out
    }

    /// Takes one stream event; prints the boxes it completes.
    pub fn event(&mut self, e: Event) -> std::io::Result<()> {
        match e {
            Event::Opened {
                conn,
                up_from,
                up_to,
                whole,
            } => {
                let stream = || Stream {
                    buf: BytesMut::new(),
                    decoder: BoxDecoder::new(),
                    resync: !whole,
                    time: Duration::ZERO,
                };
                debug_assert_eq!(conn, self.conns.len());
                self.conns.push(Conn {
                    up_from,
                    up_to,
                    streams: [stream(), stream()],
                    asks: Default::default(),
                    asked_at: HashMap::new(),
                    stopped: None,
                    enders: Vec::new(),
                });
                if !whole {
                    self.note(conn, "the capture starts in the middle of this connection: each direction is picked up at its first whole box")?;
                }
                Ok(())
            }
            Event::Gap { conn, dir, lost } => {
                if self.conns[conn].stopped.is_none() {
                    self.conns[conn].streams[dir as usize].resync = true;
                    self.conns[conn].streams[dir as usize].buf.clear();
                    self.conns[conn].streams[dir as usize].decoder = BoxDecoder::new();
                    let (from, to) = self.ends(conn, dir);
                    self.note(conn, &format!("{lost} bytes {from} -> {to} are missing from the capture: picked up again at the next whole box"))?;
                }
                Ok(())
            }
            Event::Ended { .. } => Ok(()),
            Event::Data {
                conn,
                dir,
                time,
                bytes,
            } => {
                if self.conns[conn].stopped.is_some() {
                    return Ok(());
                }
                self.epoch.get_or_insert(time);
                let s = &mut self.conns[conn].streams[dir as usize];
                s.buf.extend_from_slice(&bytes);
                if time > Duration::ZERO {
                    s.time = time;
                }
                self.drain(conn, dir)
            }
        }
    }

    /// The two ends of `dir` on `conn`, sender first.
    fn ends(&self, conn: usize, dir: Dir) -> (SocketAddr, SocketAddr) {
        let c = &self.conns[conn];
        match dir {
            Dir::Up => (c.up_from, c.up_to),
            Dir::Down => (c.up_to, c.up_from),
        }
    }

    /// Prints every whole box buffered on `dir` of `conn`.
    fn drain(&mut self, conn: usize, dir: Dir) -> std::io::Result<()> {
        loop {
            let s = &mut self.conns[conn].streams[dir as usize];
            if s.resync {
                match find_box_start(&s.buf) {
                    Some(skip) => {
                        let _ = s.buf.split_to(skip);
                        s.resync = false;
                    }
                    None => {
                        if s.buf.len() > RESYNC_WINDOW {
                            let keep = s.buf.len() - RESYNC_WINDOW / 2;
                            let _ = s.buf.split_to(keep);
                        }
                        return Ok(());
                    }
                }
            }
            let s = &mut self.conns[conn].streams[dir as usize];
            match s.decoder.decode(&mut s.buf) {
                Ok(Some(b)) => {
                    let time = s.time;
                    self.print(conn, dir, time, b)?;
                    if self.conns[conn].stopped.is_some() {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    let (from, to) = self.ends(conn, dir);
                    let e = e.to_string().replace("peer sent an", "an");
                    let why = format!("bytes {from} -> {to} are not AMP ({e}): no longer followed (a protocol switch?)");
                    return self.stop(conn, why);
                }
            }
        }
    }

    /// Stops following `conn`, saying why once.
    fn stop(&mut self, conn: usize, why: String) -> std::io::Result<()> {
        self.note(conn, &why)?;
        self.conns[conn].stopped = Some(why);
        Ok(())
    }

    /// A remark about `conn`: on standard error (text) or as a
    /// `{"conn":..,"note":..}` line (JSON).
    fn note(&mut self, conn: usize, what: &str) -> std::io::Result<()> {
        if self.json {
            let j = serde_json::json!({"conn": conn + 1, "note": what});
            writeln!(self.out, "{j}")
        } else {
            writeln!(self.out, "conn {}: {what}\n", conn + 1)
        }
    }

    /// Prints one box of `dir` on `conn`.
    fn print(&mut self, conn: usize, dir: Dir, time: Duration, b: AmpBox) -> std::io::Result<()> {
        self.n += 1;
        let n = self.n;
        let (from, to) = self.ends(conn, dir);
        let mut head = Head::of(&b);
        let mut request = None;
        let mut latency = None;
        let mut ended = None;
        let c = &mut self.conns[conn];
        match head.kind {
            Kind::Request => {
                if let (Some(tag), Some(cmd)) = (&head.tag, &head.command) {
                    c.asks[dir as usize].ask(tag.clone(), n, cmd.clone());
                    c.asked_at.insert(n, time);
                    let switch = self
                        .schema
                        .and_then(|s| s.command(&String::from_utf8_lossy(cmd)))
                        .is_some_and(|c| c.kind == crate::schema::Kind::Switch);
                    if cmd.as_ref() == b"StartTLS" {
                        c.enders
                            .push((dir, tag.clone(), "StartTLS done: the rest is encrypted"));
                    } else if switch {
                        c.enders
                            .push((dir, tag.clone(), "switched to another protocol"));
                    }
                }
            }
            Kind::Answer | Kind::Error => {
                let asked = head
                    .tag
                    .as_ref()
                    .and_then(|t| c.asks[dir.back() as usize].answer(t));
                if let Some((m, cmd)) = asked {
                    request = Some(m);
                    latency = c.asked_at.remove(&m).map(|t| time.saturating_sub(t));
                    head.command = Some(cmd);
                }
                let ender = c
                    .enders
                    .iter()
                    .position(|(d, t, _)| *d == dir.back() && head.tag.as_ref() == Some(t));
                if let Some(i) = ender {
                    let (_, _, why) = c.enders.remove(i);
                    if head.kind == Kind::Answer {
                        ended = Some(why);
                    }
                }
            }
            Kind::Box => {}
        }
        let values = read_box(head.fields(self.schema), &b, head.keys());
        if self.json {
            let mut extra = Map::new();
            extra.insert("n".into(), Json::from(n));
            extra.insert("conn".into(), Json::from(conn + 1));
            extra.insert("from".into(), Json::from(from.to_string()));
            extra.insert("to".into(), Json::from(to.to_string()));
            extra.insert("time".into(), Json::from(time.as_secs_f64()));
            if let Some(m) = request {
                extra.insert("request".into(), Json::from(m));
            }
            if let Some(l) = latency {
                extra.insert("latency_us".into(), Json::from(l.as_micros() as u64));
            }
            writeln!(self.out, "{}", head.record(&values, extra))?;
        } else {
            let since = time.saturating_sub(self.epoch.unwrap_or(time));
            let text = |b: &Option<Bytes>| b.as_deref().map(render::text).unwrap_or_default();
            let tag = match &head.tag {
                Some(t) => format!("(tag {})", render::text(t)),
                None => "(no answer wanted)".into(),
            };
            let to_req = match request {
                Some(m) => format!(" to #{m} {}", text(&head.command)),
                None => String::new(),
            };
            let after = latency
                .map(|l| format!(" after {} µs", l.as_micros()))
                .unwrap_or_default();
            let what = match head.kind {
                Kind::Request => format!("request {} {tag}", text(&head.command)),
                Kind::Answer => format!("answer{to_req} {tag}{after}"),
                Kind::Error => format!("error{to_req} {tag}{after}"),
                Kind::Box => "box".into(),
            };
            writeln!(
                self.out,
                "#{n} conn {} {from} -> {to} +{:.6}s {what}",
                conn + 1,
                since.as_secs_f64()
            )?;
            if head.kind == Kind::Error {
                if head.code.is_some() {
                    writeln!(self.out, "_error_code: {}", text(&head.code))?;
                }
                if head.description.is_some() {
                    writeln!(self.out, "_error_description: {}", text(&head.description))?;
                }
            }
            write!(self.out, "{}", render::lines(&values))?;
            writeln!(self.out)?;
        }
        if let Some(why) = ended {
            self.stop(conn, format!("{why}, no longer followed"))?;
        }
        Ok(())
    }
}

/// Where the first whole box in `buf` starts, if one is found: a position
/// from which a box decodes that carries one of AMP's own keys (`_ask`,
/// `_answer`, `_error`, `_command`), so that bytes inside a value are not
/// taken for a box. `None` while undecided (more bytes may tell).
fn find_box_start(buf: &[u8]) -> Option<usize> {
    // A box starts with a key's length: 0x00 then 1..=255.
    (0..buf.len().saturating_sub(1)).find(|&i| {
        if buf[i] != 0 || buf[i + 1] == 0 {
            return false;
        }
        let end = buf.len().min(i + PROBE);
        let mut probe = BytesMut::from(&buf[i..end]);
        matches!(
            BoxDecoder::new().decode(&mut probe),
            Ok(Some(b)) if ["_ask", "_answer", "_error", "_command"].iter().any(|k| b.get(k).is_some())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Format;

    fn wire(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut b = AmpBox::new();
        for (k, v) in pairs {
            b.insert(k.to_string(), v.to_string());
        }
        b.to_bytes().unwrap().to_vec()
    }

    /// The text `Printer` writes for a connection carrying `up` then
    /// `down`, then more bytes each way, with `schema`.
    fn printed(schema: Option<&Schema>, up: &[u8], down: &[u8]) -> String {
        let mut out = Vec::new();
        let mut p = Printer::new(schema, false, &mut out);
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:1234".parse().unwrap();
        let data = |dir, bytes: &[u8]| Event::Data {
            conn: 0,
            dir,
            time: Duration::from_secs(1),
            bytes: bytes.to_vec(),
        };
        p.event(Event::Opened {
            conn: 0,
            up_from: a,
            up_to: b,
            whole: true,
        })
        .unwrap();
        p.event(data(Dir::Up, up)).unwrap();
        p.event(data(Dir::Down, down)).unwrap();
        p.event(data(Dir::Up, &wire(&[("_command", "Sum"), ("_ask", "2")])))
            .unwrap();
        drop(p);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_switch_the_schema_declares_ends_following() {
        let schema = Schema::parse(
            r#"{"commands": [{"name": "Go", "kind": "switch", "arguments": [], "response": []}]}"#,
            Format::Json,
        )
        .unwrap();
        let ask = wire(&[("_command", "Go"), ("_ask", "1")]);
        let answer = wire(&[("_answer", "1")]);
        let text = printed(Some(&schema), &ask, &answer);
        assert!(
            text.contains("conn 1: switched to another protocol, no longer followed"),
            "{text}"
        );
        assert!(!text.contains("request Sum"), "{text}");
        // Without the schema, the bytes after it are read as AMP.
        let text = printed(None, &ask, &answer);
        assert!(text.contains("request Sum"), "{text}");
        // An error answer does not switch.
        let error = wire(&[
            ("_error", "1"),
            ("_error_code", "NO"),
            ("_error_description", "no"),
        ]);
        let text = printed(Some(&schema), &ask, &error);
        assert!(text.contains("request Sum"), "{text}");
    }
}
