//! TCP streams out of captured segments: each connection's two directions
//! put back in order (segments out of order are held, retransmitted bytes
//! dropped), as the receiving host would have read them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::packets::Segment;

/// Bytes held out of order in one direction before the missing bytes are
/// given up on (a capture that lost them): a gap is reported and the
/// stream goes on from what is held.
pub const MAX_HELD: usize = 4 << 20;

/// Which way bytes go on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the side that opened the connection (or, when the capture
    /// missed that, the side that is not the AMP port).
    Up,
    /// Back to it.
    Down,
}

impl Dir {
    /// The other way.
    pub fn back(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
        }
    }
}

/// What the streams did.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Bytes, in order.
    Data {
        conn: usize,
        dir: Dir,
        time: Duration,
        bytes: Vec<u8>,
    },
    /// Bytes the capture does not have (lost or cut): `lost` of them.
    Gap { conn: usize, dir: Dir, lost: u64 },
    /// A connection seen for the first time; `whole`: its SYN was
    /// captured (else the capture starts in its middle).
    Opened {
        conn: usize,
        up_from: SocketAddr,
        up_to: SocketAddr,
        whole: bool,
    },
    /// This direction ended (FIN or RST).
    Ended { conn: usize, dir: Dir },
}

/// Every connection of a capture.
pub struct Streams {
    /// Only connections with this port at one end (the AMP port), if set.
    port: Option<u16>,
    by_addr: HashMap<(SocketAddr, SocketAddr), (usize, Dir)>,
    halves: Vec<[Half; 2]>,
}

/// One direction of one connection.
#[derive(Default)]
struct Half {
    /// The next sequence number expected (unknown before the first
    /// segment).
    next: Option<u32>,
    /// Segments ahead of `next`, by sequence number.
    held: HashMap<u32, Vec<u8>>,
    held_bytes: usize,
    ended: bool,
}

/// `a - b` as a signed distance in sequence space.
fn dist(a: u32, b: u32) -> i64 {
    a.wrapping_sub(b) as i32 as i64
}

impl Half {
    /// Takes one segment; returns the bytes now in order and any gap.
    fn take(&mut self, seq: u32, syn: bool, payload: &[u8]) -> (Vec<u8>, u64) {
        let start = if syn { seq.wrapping_add(1) } else { seq };
        let next = *self.next.get_or_insert(start);
        let mut out = Vec::new();
        let mut gap = 0;
        if payload.is_empty() {
            return (out, gap);
        }
        let d = dist(start, next);
        if d > 0 {
            // Ahead: held until the bytes before it come, unless too much
            // is held: then the missing bytes are not coming.
            self.hold(start, payload);
            if self.held_bytes > MAX_HELD {
                gap = self.skip_to_held(&mut out).unwrap_or(0);
            }
            return (out, gap);
        }
        let next = self.next.unwrap_or(start);
        let d = dist(start, next);
        if d <= 0 && (-d) < payload.len() as i64 {
            // In order (or a retransmission that carries new bytes).
            out.extend_from_slice(&payload[(-d) as usize..]);
            self.next = Some(next.wrapping_add(payload.len() as u32 - (-d) as u32));
        }
        self.drain(&mut out);
        (out, gap)
    }

    /// Keeps a segment that is ahead (the longer copy, if seen twice).
    fn hold(&mut self, seq: u32, payload: &[u8]) {
        let slot = self.held.entry(seq).or_default();
        if slot.len() < payload.len() {
            self.held_bytes += payload.len() - slot.len();
            *slot = payload.to_vec();
        }
    }

    /// Moves held segments that are now in order into `out`.
    fn drain(&mut self, out: &mut Vec<u8>) {
        while let Some(next) = self.next {
            let Some((&seq, _)) = self
                .held
                .iter()
                .find(|(&s, p)| dist(s, next) <= 0 && dist(s, next) + p.len() as i64 > 0)
            else {
                // Drop what is wholly behind us.
                self.held.retain(|&s, p| dist(s, next) + p.len() as i64 > 0);
                self.held_bytes = self.held.values().map(Vec::len).sum();
                return;
            };
            let p = self.held.remove(&seq).unwrap_or_default();
            self.held_bytes -= p.len();
            let skip = (-dist(seq, next)) as usize;
            out.extend_from_slice(&p[skip..]);
            self.next = Some(next.wrapping_add((p.len() - skip) as u32));
        }
    }

    /// Gives up on the bytes before the first held segment: returns how
    /// many were skipped, after moving what is then in order to `out`.
    fn skip_to_held(&mut self, out: &mut Vec<u8>) -> Option<u64> {
        let next = self.next?;
        let first = *self.held.keys().min_by_key(|&&s| dist(s, next))?;
        let lost = dist(first, next).max(0) as u64;
        self.next = Some(first);
        self.drain(out);
        Some(lost)
    }
}

impl Streams {
    /// Streams of connections with `port` at one end (all, if `None`).
    pub fn new(port: Option<u16>) -> Streams {
        Streams {
            port,
            by_addr: HashMap::new(),
            halves: Vec::new(),
        }
    }

    /// Takes one segment; what it caused goes to `out`.
    pub fn push(&mut self, s: &Segment, out: &mut Vec<Event>) {
        if let Some(port) = self.port {
            if s.from.port() != port && s.to.port() != port {
                return;
            }
        }
        let (conn, dir) = match self.by_addr.get(&(s.from, s.to)) {
            Some(&found) => found,
            None => {
                if s.rst || (s.fin && s.payload.is_empty()) {
                    return; // the end of a connection we never saw
                }
                // Who opened it: the sender of a lone SYN; else whoever is
                // not on the AMP port; else the first sender seen.
                let up = match (s.syn, s.ack, self.port) {
                    (true, false, _) => true,
                    (true, true, _) => false,
                    (false, _, Some(p)) => s.to.port() == p,
                    (false, _, None) => true,
                };
                let (from, to) = if up { (s.from, s.to) } else { (s.to, s.from) };
                let conn = self.halves.len();
                self.halves.push(Default::default());
                self.by_addr.insert((from, to), (conn, Dir::Up));
                self.by_addr.insert((to, from), (conn, Dir::Down));
                out.push(Event::Opened {
                    conn,
                    up_from: from,
                    up_to: to,
                    whole: s.syn,
                });
                (conn, if up { Dir::Up } else { Dir::Down })
            }
        };
        let half = &mut self.halves[conn][dir as usize];
        if half.ended {
            return;
        }
        let (bytes, lost) = half.take(s.seq, s.syn, &s.payload);
        if lost > 0 {
            out.push(Event::Gap { conn, dir, lost });
        }
        if !bytes.is_empty() {
            out.push(Event::Data {
                conn,
                dir,
                time: s.time,
                bytes,
            });
        }
        if s.fin || s.rst {
            half.ended = true;
            out.push(Event::Ended { conn, dir });
        }
    }

    /// The end of the capture: bytes still held after a hole are given up
    /// on (reported as a gap, then delivered).
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        for (conn, halves) in self.halves.iter_mut().enumerate() {
            for (i, half) in halves.iter_mut().enumerate() {
                let dir = if i == 0 { Dir::Up } else { Dir::Down };
                while !half.held.is_empty() {
                    let mut bytes = Vec::new();
                    let Some(lost) = half.skip_to_held(&mut bytes) else {
                        break;
                    };
                    out.push(Event::Gap { conn, dir, lost });
                    if !bytes.is_empty() {
                        out.push(Event::Data {
                            conn,
                            dir,
                            time: Duration::ZERO,
                            bytes,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(from: u16, to: u16, seq: u32, syn: bool, payload: &[u8]) -> Segment {
        Segment {
            time: Duration::ZERO,
            from: SocketAddr::from(([127, 0, 0, 1], from)),
            to: SocketAddr::from(([127, 0, 0, 1], to)),
            seq,
            syn,
            ack: !syn,
            fin: false,
            rst: false,
            payload: payload.to_vec(),
        }
    }

    /// Every byte delivered on `dir` of connection 0.
    fn bytes(events: &[Event], want: Dir) -> Vec<u8> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Data { dir, bytes, .. } if *dir == want => Some(bytes.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn segments_out_of_order_and_retransmitted_come_out_once_in_order() {
        let mut s = Streams::new(None);
        let mut out = Vec::new();
        let isn = u32::MAX - 3; // sequence numbers wrap in the middle
        for segment in [
            seg(4000, 1234, isn, true, b""),
            seg(4000, 1234, isn.wrapping_add(6), false, b"world"), // early
            seg(4000, 1234, isn.wrapping_add(1), false, b"hello"),
            seg(4000, 1234, isn.wrapping_add(1), false, b"hello"), // again
            seg(4000, 1234, isn.wrapping_add(4), false, b"lowor"), // overlaps
            seg(4000, 1234, isn.wrapping_add(11), false, b"!"),
        ] {
            s.push(&segment, &mut out);
        }
        assert_eq!(bytes(&out, Dir::Up), b"helloworld!");
        assert!(matches!(out[0], Event::Opened { whole: true, .. }));
    }

    #[test]
    fn a_capture_from_the_middle_starts_at_its_first_segment() {
        let mut s = Streams::new(Some(1234));
        let mut out = Vec::new();
        // The server's answer is seen first: still Down (the AMP port's side).
        s.push(&seg(1234, 4000, 500, false, b"answer"), &mut out);
        s.push(&seg(4000, 1234, 90, false, b"ask"), &mut out);
        assert_eq!(bytes(&out, Dir::Down), b"answer");
        assert_eq!(bytes(&out, Dir::Up), b"ask");
        assert!(
            matches!(out[0], Event::Opened { whole: false, up_to, .. } if up_to.port() == 1234)
        );
        // Other ports are not followed.
        let seen = out.len();
        s.push(&seg(5000, 6000, 1, false, b"x"), &mut out);
        assert_eq!(out.len(), seen);
    }

    #[test]
    fn bytes_never_captured_are_a_gap() {
        let mut s = Streams::new(None);
        let mut out = Vec::new();
        s.push(&seg(4000, 1234, 0, true, b""), &mut out);
        s.push(&seg(4000, 1234, 1, false, b"ab"), &mut out);
        s.push(&seg(4000, 1234, 10, false, b"xyz"), &mut out); // 7 bytes lost
        s.finish(&mut out);
        assert_eq!(bytes(&out, Dir::Up), b"abxyz");
        assert!(out.contains(&Event::Gap {
            conn: 0,
            dir: Dir::Up,
            lost: 7
        }));
    }
}
