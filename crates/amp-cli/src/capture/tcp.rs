//! TCP streams out of captured segments: each connection's two directions
//! put back in order (segments out of order are held, retransmitted bytes
//! dropped), as the receiving host would have read them. A FIN ends a
//! direction once every byte before it is in (a retransmission may still
//! fill a hole); an RST ends it at once. Where two captured copies of the
//! same bytes differ, the copy that starts first gives them.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use super::packets::Segment;

/// Bytes held out of order in one direction before the missing bytes are
/// given up on (a capture that lost them): a gap is reported and the
/// stream goes on from what is held.
pub const MAX_HELD: usize = 4 << 20;

/// Segments held out of order in one direction before the missing bytes
/// are given up on (so that many tiny segments cannot pile up either).
pub const MAX_HELD_SEGMENTS: usize = 1 << 16;

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

/// One direction of one connection. Bytes are placed by their position in
/// the stream (0 is the first byte after the SYN, or of the first segment
/// seen), a sequence number standing for the position within 2^31 of the
/// next one expected.
#[derive(Default)]
struct Half {
    /// The sequence number of position 0 (unknown before the first
    /// segment).
    first: Option<u32>,
    /// The next position expected.
    next: i64,
    /// Segments ahead of `next`, by position (of two starting at the same
    /// place, the longer).
    held: BTreeMap<i64, Vec<u8>>,
    held_bytes: usize,
    /// Where a FIN said the stream ends: it ends once every byte before
    /// that is in (or given up on).
    fin_at: Option<i64>,
    ended: bool,
}

/// What one segment (or the end of the capture) makes of a direction.
enum Piece {
    /// Bytes, in order.
    Bytes(Vec<u8>),
    /// This many bytes given up on (the capture does not have them).
    Lost(u64),
}

impl Half {
    /// The position of sequence number `seq`.
    fn place(&self, first: u32, seq: u32) -> i64 {
        let next_seq = first.wrapping_add(self.next as u32);
        self.next + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// Takes one segment whose first byte has sequence number `seq`;
    /// returns what it makes of the stream, in order: bytes, and bytes
    /// given up on.
    fn take(&mut self, seq: u32, payload: &[u8], fin: bool) -> Vec<Piece> {
        let first = *self.first.get_or_insert(seq);
        let start = self.place(first, seq);
        let end = start + payload.len() as i64;
        if fin {
            self.fin_at = Some(self.fin_at.map_or(end, |f| f.min(end)));
        }
        let mut pieces = Vec::new();
        if payload.is_empty() {
            return pieces;
        }
        if start > self.next {
            // Ahead: held until the bytes before it come, unless too much
            // is held: then the missing bytes are not coming.
            let slot = self.held.entry(start).or_default();
            if slot.len() < payload.len() {
                self.held_bytes += payload.len() - slot.len();
                *slot = payload.to_vec();
            }
            while self.held_bytes > MAX_HELD || self.held.len() > MAX_HELD_SEGMENTS {
                self.give_up(&mut pieces);
            }
            return pieces;
        }
        let mut out = Vec::new();
        if end > self.next {
            // In order (or a retransmission that carries new bytes).
            out.extend_from_slice(&payload[(self.next - start) as usize..]);
            self.next = end;
        }
        self.follow_on(&mut out);
        if !out.is_empty() {
            pieces.push(Piece::Bytes(out));
        }
        pieces
    }

    /// Moves the held segments that now follow on into `out`, in position
    /// order (where copies overlap, the one starting first gives the
    /// bytes); drops those wholly behind.
    fn follow_on(&mut self, out: &mut Vec<u8>) {
        while let Some(entry) = self.held.first_entry() {
            let at = *entry.key();
            if at > self.next {
                return;
            }
            let p = entry.remove();
            self.held_bytes -= p.len();
            let end = at + p.len() as i64;
            if end > self.next {
                out.extend_from_slice(&p[(self.next - at) as usize..]);
                self.next = end;
            }
        }
    }

    /// Gives up on the bytes before the first held segment (nothing if
    /// nothing is held): how many were skipped, then what is in order
    /// after them, go to `pieces`.
    fn give_up(&mut self, pieces: &mut Vec<Piece>) {
        let Some((&first, _)) = self.held.first_key_value() else {
            return;
        };
        let lost = (first - self.next).max(0) as u64;
        if lost > 0 {
            pieces.push(Piece::Lost(lost));
        }
        self.next = self.next.max(first);
        let mut out = Vec::new();
        self.follow_on(&mut out);
        if !out.is_empty() {
            pieces.push(Piece::Bytes(out));
        }
    }

    /// Whether a FIN's end is reached.
    fn at_fin(&self) -> bool {
        self.fin_at.is_some_and(|f| self.next >= f)
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
        let seq = s.seq.wrapping_add(s.syn as u32);
        let pieces = half.take(seq, &s.payload, s.fin);
        events(conn, dir, s.time, pieces, out);
        if s.rst || half.at_fin() {
            half.ended = true;
            out.push(Event::Ended { conn, dir });
        }
    }

    /// The end of the capture: bytes still held after a hole are given up
    /// on (reported as a gap, then delivered), and a direction whose FIN
    /// is then reached ends.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        for (conn, halves) in self.halves.iter_mut().enumerate() {
            for (i, half) in halves.iter_mut().enumerate() {
                let dir = if i == 0 { Dir::Up } else { Dir::Down };
                let mut pieces = Vec::new();
                while !half.held.is_empty() {
                    half.give_up(&mut pieces);
                }
                events(conn, dir, Duration::ZERO, pieces, out);
                if !half.ended && half.at_fin() {
                    half.ended = true;
                    out.push(Event::Ended { conn, dir });
                }
            }
        }
    }
}

/// `pieces` of one direction as events at `time`.
fn events(conn: usize, dir: Dir, time: Duration, pieces: Vec<Piece>, out: &mut Vec<Event>) {
    for piece in pieces {
        out.push(match piece {
            Piece::Bytes(bytes) => Event::Data {
                conn,
                dir,
                time,
                bytes,
            },
            Piece::Lost(lost) => Event::Gap { conn, dir, lost },
        });
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
    fn a_fin_after_a_hole_waits_for_the_retransmission() {
        let mut s = Streams::new(None);
        let mut out = Vec::new();
        s.push(&seg(4000, 1234, 0, true, b""), &mut out);
        let mut fin = seg(4000, 1234, 4, false, b"de");
        fin.fin = true;
        s.push(&fin, &mut out); // bytes 4..6 and the end, ahead of a hole
        assert!(!out.iter().any(|e| matches!(e, Event::Ended { .. })));
        s.push(&seg(4000, 1234, 1, false, b"abc"), &mut out); // the hole filled
        assert_eq!(bytes(&out, Dir::Up), b"abcde");
        assert_eq!(
            out.last(),
            Some(&Event::Ended {
                conn: 0,
                dir: Dir::Up
            })
        );
        // Nothing after the end.
        let seen = out.len();
        s.push(&seg(4000, 1234, 6, false, b"zz"), &mut out);
        assert_eq!(out.len(), seen);
    }

    #[test]
    fn many_tiny_segments_held_are_given_up_on_too() {
        let mut s = Streams::new(None);
        let mut out = Vec::new();
        s.push(&seg(4000, 1234, 0, true, b""), &mut out);
        // One byte at every other position from 10 on: each behind a hole.
        for i in 0..=MAX_HELD_SEGMENTS as u32 {
            s.push(&seg(4000, 1234, 11 + 2 * i, false, b"x"), &mut out);
        }
        // One over the limit: the first hole (10 bytes) given up, its byte
        // delivered.
        assert_eq!(
            out[1..3],
            [
                Event::Gap {
                    conn: 0,
                    dir: Dir::Up,
                    lost: 10
                },
                Event::Data {
                    conn: 0,
                    dir: Dir::Up,
                    time: Duration::ZERO,
                    bytes: b"x".to_vec()
                }
            ]
        );
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
