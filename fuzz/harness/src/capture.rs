//! `capture`: `amp decode`'s capture reader: pcap/pcapng files through
//! `packets::read`, and TCP segments through our reassembly
//! (`tcp::Streams`), checked against a reference model after every
//! segment.
//!
//! The CLI is a binary crate, so this module includes its two source files
//! as they are: `crates/amp-cli/src/capture/packets.rs` as [`packets`] and
//! `crates/amp-cli/src/capture/tcp.rs` as [`tcp`] (with `#[path]`; both are
//! children of this module, so `tcp`'s `super::packets::Segment` resolves
//! here as it does in the CLI). They use nothing else of the CLI, only
//! `pcap-file` and `etherparse` (at the CLI's versions, in
//! `harness/Cargo.toml`); their unit tests run with the harness's.
//!
//! Input layout: `flags, ...`; bit 0 of `flags` chooses the mode.
//!
//! * **file** (bit 0 clear): `flags, [port: u16 BE if flags & 2], [stop:
//!   u8 if flags & 4], file`. `file` is read by `packets::read` as a
//!   capture and every segment goes into `Streams::new(port)` (all
//!   connections without bit 1). With bit 2 the callback fails on the
//!   `stop + 1`-th segment (a write error), which must end the read with
//!   that error. A seed written by hand is `\x00` then a pcap or pcapng
//!   file.
//! * **script** (bit 0 set): `flags, isn_up: u32 BE, isn_down: u32 BE,
//!   segments...`, the segments fed to `Streams` directly (no framing),
//!   to hit reassembly hard. `flags & 2`: only connections on port
//!   [`AMP_PORT`] are followed; `flags & 4`: segments with bit 7 of their
//!   first byte carry bytes that differ from the stream's (retransmissions
//!   that disagree). Each segment is 5 bytes:
//!   - `what`: bits 0-1 the connection (0-2 are client `10.0.0.(c+1)`
//!     or, for 2, `[fd00::2]`, port `40000+c`, to the server on
//!     [`AMP_PORT`]; 3 is a connection between ports 5000 and 5001),
//!     bit 2 the direction (0: client to server, from `isn_up`; 1: back,
//!     from `isn_down`), bits 3-6 the flags SYN, ACK, FIN, RST, bit 7
//!     see above;
//!   - `off`: u24 BE, the sequence number relative to the direction's ISN
//!     (`seq = isn + off`, wrapping: an ISN near 2^32 wraps inside the
//!     stream);
//!   - `len`: the payload length: below 0xc0 that many bytes, else
//!     `(len - 0xbf) * 1024 - 1` (1023 to 65535, enough to reach
//!     [`tcp::MAX_HELD`] with a few segments).
//!
//!   The payload is not in the input: the byte at sequence number `s` is
//!   always [`stream_bytes`]`(s - isn)` of its connection and direction (so
//!   retransmissions agree and what is delivered can be checked byte for
//!   byte), or with bit 7 and `flags & 4` that value changed. Segment `i`
//!   is captured at `i` ms.
//!
//! Checked, for every input (any failure panics):
//!
//! * nothing panics (reading, reassembling, finishing);
//! * `packets::is_capture` and `packets::read` agree on the magic: a file
//!   whose first four bytes are not a capture's is refused with no
//!   segment, and for each magic `is_capture` accepts, a minimal empty
//!   file with that magic reads without error; a failing callback ends
//!   the read with its error, and is not called again;
//! * after every segment (and after `finish`), the events are exactly a
//!   reference model's ([`Model`]: an independent implementation of
//!   tcp.rs's documented rules on absolute stream positions, with
//!   ordered maps instead of sequence-number arithmetic): which segments
//!   open connections and which are ignored, connection numbers and
//!   directions, `Opened`/`Ended`, every `Gap` and its size, every `Data`
//!   with its time and bytes. When held copies of the same position
//!   disagree, tcp.rs may deliver either, so the model accepts any of them
//!   there (only possible with `flags & 4`, or in a file);
//! * independently of the model, per direction: walking the `Data` and
//!   `Gap` events from where the direction started, every byte delivered
//!   had arrived in a segment that was taken, and every byte reported lost
//!   had not; in script mode without `flags & 4`, every byte delivered is
//!   the stream's byte at its position;
//! * what is held out of order stays within [`tcp::MAX_HELD`] bytes per
//!   direction after every segment (the model's count, which the events
//!   match);
//! * after `finish` nothing is held, and every direction was delivered or
//!   reported lost up to the end of the furthest segment it took.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

#[path = "../../../crates/amp-cli/src/capture/packets.rs"]
pub mod packets;
#[path = "../../../crates/amp-cli/src/capture/tcp.rs"]
pub mod tcp;

use packets::Segment;
use tcp::{Dir, Event, Streams, MAX_HELD, MAX_HELD_SEGMENTS};

/// The server port of script connections 0-2 (the one `flags & 2`
/// follows).
pub const AMP_PORT: u16 = 1234;

/// Entry point: see the module documentation.
pub fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    if flags & 1 == 0 {
        run_file(flags, rest);
    } else {
        run_script(flags, rest);
    }
}

/// The period of the script streams' bytes.
const PERIOD: u32 = 65_521;

/// Pseudo-random bytes: `PERIOD` of them, then 64 KiB more of the same
/// cycle, so that any 64 KiB of a stream is one slice of it.
fn pattern() -> &'static [u8] {
    static PATTERN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut x = 0x2545_f491u32;
        let mut v: Vec<u8> = (0..PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        let again: Vec<u8> = v.iter().cycle().take(65_536).copied().collect();
        v.extend(again);
        v
    })
}

/// The bytes of a script stream from offset `off` (sequence number minus
/// ISN) on, at most 64 KiB of them, for connection `conn` and direction
/// `dir` (0 up, 1 down): a pseudo-random sequence of period [`PERIOD`],
/// shifted differently for each connection and direction.
pub fn stream_bytes(conn: u8, dir: u8, off: u32, len: usize) -> &'static [u8] {
    assert!(len <= 65_536);
    let shift = u32::from(conn) * 8_111 + u32::from(dir) * 30_011;
    let at = ((u64::from(off) + u64::from(shift)) % u64::from(PERIOD)) as usize;
    &pattern()[at..at + len]
}

// ------------------------------------------------------------------ files

fn run_file(flags: u8, mut rest: &[u8]) {
    let mut port = None;
    if flags & 2 != 0 {
        let Some((p, r)) = rest.split_first_chunk::<2>() else {
            return;
        };
        port = Some(u16::from_be_bytes(*p));
        rest = r;
    }
    let mut stop = None;
    if flags & 4 != 0 {
        let Some((&n, r)) = rest.split_first() else {
            return;
        };
        stop = Some(n as usize);
        rest = r;
    }
    let file = rest;
    let mut check = Checked::new(port, None);
    let mut calls = 0usize;
    let result = packets::read(file, |s| {
        calls += 1;
        assert!(
            stop.is_none_or(|n| calls <= n + 1),
            "read went on after its callback failed"
        );
        if stop.is_some_and(|n| calls > n) {
            return Err(std::io::Error::other("stop"));
        }
        check.push(&s);
        Ok(())
    });
    let capture = packets::is_capture(file);
    if !capture {
        assert!(
            result.is_err(),
            "not a capture's magic ({:02x?}), but read: {result:?}",
            &file[..file.len().min(4)]
        );
        assert_eq!(calls, 0, "segments out of a file that is not a capture");
    }
    if stop.is_some_and(|n| calls > n) {
        match &result {
            Err(e) if e.starts_with("cannot write") => {}
            other => panic!("the callback failed, but read gave {other:?}"),
        }
    }
    if capture {
        let empty = empty_capture(&file[..4]);
        let r = packets::read(&empty[..], |_| panic!("a segment in an empty capture"));
        assert!(
            r.is_ok(),
            "is_capture accepts {:02x?}, but an empty capture with it fails: {r:?}",
            &file[..4]
        );
    }
    check.finish();
}

/// A capture with no packet, starting with `magic` (one `is_capture`
/// accepts): a pcap header in the byte order the magic says, or a pcapng
/// section header block.
fn empty_capture(magic: &[u8]) -> Vec<u8> {
    let mut out = magic.to_vec();
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        out.extend_from_slice(&28u32.to_le_bytes());
        out.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(-1i64).to_le_bytes());
        out.extend_from_slice(&28u32.to_le_bytes());
        return out;
    }
    // a1 b2 .. first: written big-endian.
    let be = magic[0] == 0xa1;
    let mut put = |v: u32, n: usize| {
        let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
        if n == 2 {
            let b16 = if be { &b[2..] } else { &b[..2] };
            out.extend_from_slice(b16);
        } else {
            out.extend_from_slice(&b);
        }
    };
    put(2, 2); // version 2.4
    put(4, 2);
    put(0, 4); // zone
    put(0, 4); // sigfigs
    put(65535, 4); // snap length
    put(1, 4); // Ethernet
    out
}

// ---------------------------------------------------------------- scripts

fn run_script(flags: u8, rest: &[u8]) {
    let Some((isns, mut rest)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let isn = [
        u32::from_be_bytes([isns[0], isns[1], isns[2], isns[3]]),
        u32::from_be_bytes([isns[4], isns[5], isns[6], isns[7]]),
    ];
    let disagree = flags & 4 != 0;
    let port = (flags & 2 != 0).then_some(AMP_PORT);
    let mut check = Checked::new(port, (!disagree).then_some(isn));
    let mut i = 0u64;
    while let Some((s, r)) = rest.split_first_chunk::<5>() {
        rest = r;
        let what = s[0];
        let conn = what & 3;
        let dir = (what >> 2) & 1;
        let off = u32::from_be_bytes([0, s[1], s[2], s[3]]);
        let len = match s[4] {
            l @ 0..=0xbf => l as usize,
            l => (l as usize - 0xbf) * 1024 - 1,
        };
        let syn = what & 8 != 0;
        let seq = isn[dir as usize].wrapping_add(off);
        let first = seq.wrapping_add(syn as u32);
        let changed = disagree && what & 0x80 != 0;
        let mut payload =
            stream_bytes(conn, dir, first.wrapping_sub(isn[dir as usize]), len).to_vec();
        if changed {
            payload.iter_mut().for_each(|b| *b ^= 0x5a);
        }
        let (client, server) = endpoints(conn);
        let (from, to) = if dir == 0 {
            (client, server)
        } else {
            (server, client)
        };
        check.push(&Segment {
            time: Duration::from_millis(i),
            from,
            to,
            seq,
            syn,
            ack: what & 0x10 != 0,
            fin: what & 0x20 != 0,
            rst: what & 0x40 != 0,
            payload,
        });
        i += 1;
    }
    check.finish();
}

/// Client and server addresses of script connection `conn`.
fn endpoints(conn: u8) -> (SocketAddr, SocketAddr) {
    match conn {
        0 | 1 => (
            SocketAddr::from((Ipv4Addr::new(10, 0, 0, conn + 1), 40000 + u16::from(conn))),
            SocketAddr::from((Ipv4Addr::new(10, 0, 0, 100), AMP_PORT)),
        ),
        2 => (
            SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2), 40002)),
            SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1), AMP_PORT)),
        ),
        _ => (
            SocketAddr::from((Ipv4Addr::new(10, 0, 0, 4), 5000)),
            SocketAddr::from((Ipv4Addr::new(10, 0, 0, 100), 5001)),
        ),
    }
}

// ----------------------------------------------------- streams vs model

/// `Streams` and the [`Model`] side by side, compared after every segment.
struct Checked {
    streams: Streams,
    model: Model,
    events: Vec<Event>,
    /// Script mode with agreeing copies: each direction's ISN, by which
    /// every byte delivered is checked.
    isn: Option<[u32; 2]>,
}

impl Checked {
    fn new(port: Option<u16>, isn: Option<[u32; 2]>) -> Checked {
        Checked {
            streams: Streams::new(port),
            model: Model::new(port),
            events: Vec::new(),
            isn,
        }
    }

    fn push(&mut self, s: &Segment) {
        self.events.clear();
        self.streams.push(s, &mut self.events);
        let want = self.model.push(s);
        self.compare(&want, "a segment");
        for half in self.model.halves.iter().flatten() {
            assert!(
                half.held_bytes <= MAX_HELD,
                "{} bytes held out of order in one direction, more than MAX_HELD ({MAX_HELD})",
                half.held_bytes
            );
            assert!(
                half.held.len() <= MAX_HELD_SEGMENTS,
                "{} segments held out of order in one direction, more than \
                 MAX_HELD_SEGMENTS ({MAX_HELD_SEGMENTS})",
                half.held.len()
            );
        }
    }

    fn finish(mut self) {
        self.events.clear();
        self.streams.finish(&mut self.events);
        let want = self.model.finish();
        self.compare(&want, "finish");
        for (conn, halves) in self.model.halves.iter().enumerate() {
            for (d, half) in halves.iter().enumerate() {
                assert!(half.held.is_empty(), "held after finish");
                let reached = half.walked.unwrap_or(0);
                assert_eq!(
                    reached,
                    half.max_end.max(0),
                    "connection {conn} direction {d}: delivered or lost up to {reached}, \
                     its segments went up to {}",
                    half.max_end
                );
            }
        }
    }

    /// The events of one step against the model's, then the walk.
    fn compare(&mut self, want: &[Want], step: &str) {
        assert_eq!(
            self.events.len(),
            want.len(),
            "after {step}: events {:?}, the model wants {want:?}",
            Short(&self.events)
        );
        for (got, want) in self.events.iter().zip(want) {
            match (got, want) {
                (
                    Event::Data {
                        conn,
                        dir,
                        time,
                        bytes,
                    },
                    Want::Data {
                        conn: c,
                        dir: d,
                        time: t,
                        bytes: b,
                        alts,
                    },
                ) => {
                    assert_eq!(
                        (conn, dir, time, bytes.len()),
                        (c, d, t, b.len()),
                        "after {step}: {:?}, the model wants {want:?}",
                        Short(&self.events)
                    );
                    if bytes != b {
                        if let Some(i) = (0..b.len()).find(|&i| {
                            bytes[i] != b[i] && !alts.get(&i).is_some_and(|a| a.contains(&bytes[i]))
                        }) {
                            panic!(
                                "after {step}: data byte {i} of {} on connection {conn} {dir:?} \
                             is {}, the model wants {} (or one of {:?})",
                                b.len(),
                                bytes[i],
                                b[i],
                                alts.get(&i)
                            );
                        }
                    }
                }
                (
                    Event::Gap { conn, dir, lost },
                    Want::Gap {
                        conn: c,
                        dir: d,
                        lost: l,
                    },
                ) => assert_eq!(
                    (conn, dir, lost),
                    (c, d, l),
                    "after {step}: {:?}, the model wants {want:?}",
                    Short(&self.events)
                ),
                (
                    Event::Opened {
                        conn,
                        up_from,
                        up_to,
                        whole,
                    },
                    Want::Opened {
                        conn: c,
                        up_from: f,
                        up_to: t,
                        whole: w,
                    },
                ) => assert_eq!(
                    (conn, up_from, up_to, whole),
                    (c, f, t, w),
                    "after {step}: {:?}",
                    Short(&self.events)
                ),
                (Event::Ended { conn, dir }, Want::Ended { conn: c, dir: d }) => assert_eq!(
                    (conn, dir),
                    (c, d),
                    "after {step}: {:?}",
                    Short(&self.events)
                ),
                _ => panic!(
                    "after {step}: events {:?}, the model wants {want:?}",
                    Short(&self.events)
                ),
            }
        }
        self.walk();
    }

    /// The model-free checks of the events just compared.
    fn walk(&mut self) {
        for e in &self.events {
            let (conn, dir) = match e {
                Event::Data { conn, dir, .. } | Event::Gap { conn, dir, .. } => (*conn, *dir),
                _ => continue,
            };
            let side = self.isn.map(|_| script_side(&self.model, conn, dir));
            let half = &mut self.model.halves[conn][dir as usize];
            let at = half.walked.unwrap_or(0);
            match e {
                Event::Gap { lost, .. } => {
                    let end = at + *lost as i64;
                    assert!(
                        !half.arrived.overlaps(at, end),
                        "connection {conn} {dir:?}: bytes {at}..{end} reported lost, \
                         but some of them arrived"
                    );
                    half.walked = Some(end);
                }
                Event::Data { bytes, .. } => {
                    let end = at + bytes.len() as i64;
                    assert!(
                        half.arrived.covers(at, end),
                        "connection {conn} {dir:?}: bytes {at}..{end} delivered, \
                         but not all of them arrived"
                    );
                    if let (Some(isn), Some((c, d))) = (self.isn, side) {
                        let first_seq = half.first.expect("data before any segment");
                        for (k, chunk) in bytes.chunks(65_536).enumerate() {
                            let pos = at + (k * 65_536) as i64;
                            let seq = first_seq.wrapping_add(pos as u32);
                            let off = seq.wrapping_sub(isn[d as usize]);
                            let want = stream_bytes(c, d, off, chunk.len());
                            if chunk != want {
                                let i = (0..chunk.len()).find(|&i| chunk[i] != want[i]);
                                panic!(
                                    "connection {conn} {dir:?}: stream bytes from {pos} (seq \
                                     {seq}) differ from the stream's at {i:?}"
                                );
                            }
                        }
                    }
                    half.walked = Some(end);
                }
                _ => unreachable!(),
            }
        }
    }
}

/// Which script connection (0-3) the model's connection `conn` is, and
/// which script direction (0: client to server) its `dir` is.
fn script_side(model: &Model, conn: usize, dir: Dir) -> (u8, u8) {
    let (up_from, up_to) = model.ends[conn];
    for c in 0..4 {
        let (client, server) = endpoints(c);
        if (up_from, up_to) == (client, server) {
            return (c, (dir == Dir::Down) as u8);
        }
        if (up_from, up_to) == (server, client) {
            return (c, (dir == Dir::Up) as u8);
        }
    }
    panic!("connection {conn} is none of the script's")
}

/// Events with the bytes of `Data` shortened, for messages.
struct Short<'a>(&'a [Event]);

impl std::fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for e in self.0 {
            match e {
                Event::Data {
                    conn,
                    dir,
                    time,
                    bytes,
                } => l.entry(&format_args!(
                    "Data {{ conn: {conn}, dir: {dir:?}, time: {time:?}, {} bytes }}",
                    bytes.len()
                )),
                e => l.entry(e),
            };
        }
        l.finish()
    }
}

/// An event the model expects.
enum Want {
    Opened {
        conn: usize,
        up_from: SocketAddr,
        up_to: SocketAddr,
        whole: bool,
    },
    Gap {
        conn: usize,
        dir: Dir,
        lost: u64,
    },
    /// `bytes`, where at index `i` any of `alts[i]` is right too.
    Data {
        conn: usize,
        dir: Dir,
        time: Duration,
        bytes: Vec<u8>,
        alts: BTreeMap<usize, Vec<u8>>,
    },
    Ended {
        conn: usize,
        dir: Dir,
    },
}

impl std::fmt::Debug for Want {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Want::Opened {
                conn,
                up_from,
                up_to,
                whole,
            } => write!(
                f,
                "Opened {{ conn: {conn}, {up_from} -> {up_to}, whole: {whole} }}"
            ),
            Want::Gap { conn, dir, lost } => {
                write!(f, "Gap {{ conn: {conn}, dir: {dir:?}, lost: {lost} }}")
            }
            Want::Data {
                conn,
                dir,
                time,
                bytes,
                ..
            } => write!(
                f,
                "Data {{ conn: {conn}, dir: {dir:?}, time: {time:?}, {} bytes }}",
                bytes.len()
            ),
            Want::Ended { conn, dir } => write!(f, "Ended {{ conn: {conn}, dir: {dir:?} }}"),
        }
    }
}

/// The reference model of `tcp::Streams`, written from its documented
/// rules:
///
/// * only connections with the port at one end are followed (all without
///   one); a connection is opened by its first segment unless that is an
///   RST or an empty FIN; its up side is the sender of a lone SYN, the
///   receiver of a SYN+ACK, else the side not on the port, else the first
///   sender;
/// * each direction starts at its first segment's first byte (after the
///   SYN's sequence number); a direction ends with an RST (that segment's
///   bytes still count), or once every byte before the end of a FIN
///   segment is delivered (a retransmission may still fill a hole before
///   it; `finish` ends it after giving up on what is missing), and takes
///   nothing afterwards;
/// * bytes at the next expected position are delivered at once, with
///   those held that then follow on; bytes already delivered are dropped;
///   segments further on are held (of two starting at the same place, the
///   longer), and while more than `MAX_HELD` bytes (the sum of the held
///   segments' lengths) or `MAX_HELD_SEGMENTS` segments are held, the
///   bytes before the first held segment are given up on (one gap for
///   them all) and what follows on is delivered;
/// * `finish` gives up on every hole still before held bytes, direction
///   by direction, connection by connection.
///
/// Positions are absolute: each direction's first byte is 0, and a
/// sequence number is placed within 2^31 of the next expected position
/// (what "ahead" and "behind" mean on a 32-bit sequence space).
struct Model {
    port: Option<u16>,
    conns: BTreeMap<(SocketAddr, SocketAddr), (usize, Dir)>,
    /// Each connection's up sender and receiver.
    ends: Vec<(SocketAddr, SocketAddr)>,
    halves: Vec<[MHalf; 2]>,
}

#[derive(Default)]
struct MHalf {
    /// The sequence number of position 0.
    first: Option<u32>,
    /// The next position expected.
    next: i64,
    /// Segments ahead of `next`, by position.
    held: BTreeMap<i64, Vec<u8>>,
    held_bytes: usize,
    /// The end of the first FIN segment's bytes, once seen.
    fin_at: Option<i64>,
    ended: bool,
    /// For the model-free checks: the positions of every byte taken, the
    /// end of the furthest segment taken, and how far the events went.
    arrived: Ranges,
    max_end: i64,
    walked: Option<i64>,
}

/// What one step delivers on one direction.
#[derive(Default)]
struct Out {
    bytes: Vec<u8>,
    alts: BTreeMap<usize, Vec<u8>>,
}

impl MHalf {
    /// The position of sequence number `seq`.
    fn place(&self, seq: u32) -> i64 {
        let first = self.first.expect("placed before the first segment");
        let next_seq = first.wrapping_add(self.next as u32);
        self.next + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// One segment's bytes (its first byte has sequence number `seq`);
    /// returns the bytes lost before those delivered, if any were given up.
    fn take(&mut self, seq: u32, payload: &[u8], fin: bool) -> Vec<MPiece> {
        if self.first.is_none() {
            self.first = Some(seq);
            self.next = 0;
        }
        let start = self.place(seq);
        let end = start + payload.len() as i64;
        if fin {
            self.fin_at = Some(self.fin_at.map_or(end, |f| f.min(end)));
        }
        let mut pieces = Vec::new();
        if payload.is_empty() {
            return pieces;
        }
        self.arrived.add(start, end);
        self.max_end = self.max_end.max(end);
        if start > self.next {
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
        let mut out = Out::default();
        if end > self.next {
            out.bytes
                .extend_from_slice(&payload[(self.next - start) as usize..]);
            self.next = end;
        }
        self.follow_on(&mut out);
        if !out.bytes.is_empty() {
            pieces.push(MPiece::Data(out));
        }
        pieces
    }

    /// Delivers the held bytes that follow on from `next`.
    fn follow_on(&mut self, out: &mut Out) {
        let mut reach = self.next;
        for (&at, p) in &self.held {
            if at > reach {
                break;
            }
            reach = reach.max(at + p.len() as i64);
        }
        // In position order the segments that follow on fill `from..reach`
        // from the front: each one's start is within what is filled.
        let base = out.bytes.len();
        let from = self.next;
        let later = self.held.split_off(&(reach + 1));
        for (at, p) in std::mem::replace(&mut self.held, later) {
            let filled = from + (out.bytes.len() - base) as i64;
            // The part already filled by others: any copy may be the one.
            let (lo, hi) = (at.max(from), (at + p.len() as i64).min(filled));
            if lo < hi {
                let mine = &p[(lo - at) as usize..(hi - at) as usize];
                let i0 = base + (lo - from) as usize;
                if out.bytes[i0..i0 + mine.len()] != *mine {
                    for (k, &b) in mine.iter().enumerate() {
                        if out.bytes[i0 + k] != b {
                            let a = out.alts.entry(i0 + k).or_default();
                            if !a.contains(&b) {
                                a.push(b);
                            }
                        }
                    }
                }
            }
            let end = at + p.len() as i64;
            if end > filled {
                out.bytes
                    .extend_from_slice(&p[(filled.max(at) - at) as usize..]);
            }
        }
        debug_assert_eq!(out.bytes.len() - base, (reach - from) as usize);
        self.held_bytes = self.held.values().map(Vec::len).sum();
        self.next = reach;
    }

    /// Whether the end a FIN set is reached.
    fn at_fin(&self) -> bool {
        self.fin_at.is_some_and(|f| self.next >= f)
    }

    /// Gives up on the bytes before the first held segment.
    /// (Nothing if nothing is held.) The bytes lost, if any, then those
    /// that follow on, go to `pieces`.
    fn give_up(&mut self, pieces: &mut Vec<MPiece>) {
        let Some((&first, _)) = self.held.first_key_value() else {
            return;
        };
        let lost = (first - self.next).max(0) as u64;
        if lost > 0 {
            pieces.push(MPiece::Lost(lost));
        }
        self.next = self.next.max(first);
        let mut out = Out::default();
        self.follow_on(&mut out);
        if !out.bytes.is_empty() {
            pieces.push(MPiece::Data(out));
        }
    }
}

impl Model {
    fn new(port: Option<u16>) -> Model {
        Model {
            port,
            conns: BTreeMap::new(),
            ends: Vec::new(),
            halves: Vec::new(),
        }
    }

    fn push(&mut self, s: &Segment) -> Vec<Want> {
        let mut want = Vec::new();
        if let Some(p) = self.port {
            if s.from.port() != p && s.to.port() != p {
                return want;
            }
        }
        let (conn, dir) = match self.conns.get(&(s.from, s.to)) {
            Some(&found) => found,
            None => {
                if s.rst || (s.fin && s.payload.is_empty()) {
                    return want;
                }
                let up = if s.syn {
                    !s.ack
                } else {
                    match self.port {
                        Some(p) => s.to.port() == p,
                        None => true,
                    }
                };
                let (up_from, up_to) = if up { (s.from, s.to) } else { (s.to, s.from) };
                let conn = self.halves.len();
                self.halves.push(Default::default());
                self.ends.push((up_from, up_to));
                self.conns.insert((up_from, up_to), (conn, Dir::Up));
                self.conns.insert((up_to, up_from), (conn, Dir::Down));
                want.push(Want::Opened {
                    conn,
                    up_from,
                    up_to,
                    whole: s.syn,
                });
                (conn, if up { Dir::Up } else { Dir::Down })
            }
        };
        let half = &mut self.halves[conn][dir as usize];
        if half.ended {
            return want;
        }
        let first = s.seq.wrapping_add(s.syn as u32);
        let pieces = half.take(first, &s.payload, s.fin);
        wants(conn, dir, s.time, pieces, &mut want);
        if s.rst || half.at_fin() {
            half.ended = true;
            want.push(Want::Ended { conn, dir });
        }
        want
    }

    fn finish(&mut self) -> Vec<Want> {
        let mut want = Vec::new();
        for (conn, halves) in self.halves.iter_mut().enumerate() {
            for (dir, half) in [Dir::Up, Dir::Down].into_iter().zip(halves.iter_mut()) {
                let mut pieces = Vec::new();
                while !half.held.is_empty() {
                    half.give_up(&mut pieces);
                }
                wants(conn, dir, Duration::ZERO, pieces, &mut want);
                if !half.ended && half.at_fin() {
                    half.ended = true;
                    want.push(Want::Ended { conn, dir });
                }
            }
        }
        want
    }
}

/// What one step makes of a direction in the model.
enum MPiece {
    Data(Out),
    Lost(u64),
}

/// `pieces` of one direction as the events they want, at `time`.
fn wants(conn: usize, dir: Dir, time: Duration, pieces: Vec<MPiece>, want: &mut Vec<Want>) {
    for piece in pieces {
        want.push(match piece {
            MPiece::Data(out) => Want::Data {
                conn,
                dir,
                time,
                bytes: out.bytes,
                alts: out.alts,
            },
            MPiece::Lost(lost) => Want::Gap { conn, dir, lost },
        });
    }
}

/// A set of positions, as disjoint half-open ranges by start.
#[derive(Default)]
struct Ranges(BTreeMap<i64, i64>);

impl Ranges {
    fn add(&mut self, mut start: i64, mut end: i64) {
        if let Some((&s, &e)) = self.0.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
            }
        }
        let inside: Vec<i64> = self.0.range(start..=end).map(|(&s, _)| s).collect();
        for s in inside {
            let e = self.0.remove(&s).unwrap_or(s);
            end = end.max(e);
        }
        self.0.insert(start, end);
    }

    /// Whether every position in `start..end` is in the set.
    fn covers(&self, start: i64, end: i64) -> bool {
        start >= end
            || self
                .0
                .range(..=start)
                .next_back()
                .is_some_and(|(_, &e)| e >= end)
    }

    /// Whether some position in `start..end` is in the set.
    fn overlaps(&self, start: i64, end: i64) -> bool {
        start < end
            && (self
                .0
                .range(..=start)
                .next_back()
                .is_some_and(|(_, &e)| e > start)
                || self.0.range(start..end).next().is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_answer() {
        let mut r = Ranges::default();
        r.add(10, 20);
        r.add(30, 40);
        assert!(r.covers(12, 20) && !r.covers(15, 31) && r.covers(5, 5));
        assert!(r.overlaps(0, 11) && r.overlaps(19, 30) && !r.overlaps(20, 30));
        r.add(20, 30);
        assert!(r.covers(10, 40));
        assert_eq!(r.0.len(), 1);
    }

    #[test]
    fn empty_captures_of_every_magic_read() {
        for magic in [
            [0x0a, 0x0d, 0x0d, 0x0a],
            [0xa1, 0xb2, 0xc3, 0xd4],
            [0xd4, 0xc3, 0xb2, 0xa1],
            [0xa1, 0xb2, 0x3c, 0x4d],
            [0x4d, 0x3c, 0xb2, 0xa1],
        ] {
            assert!(packets::is_capture(&magic));
            let file = empty_capture(&magic);
            assert!(packets::read(&file[..], |_| Ok(())).is_ok(), "{magic:02x?}");
        }
    }

    /// A script segment (see the module documentation).
    fn seg(what: u8, off: u32, len: u8) -> Vec<u8> {
        let o = off.to_be_bytes();
        vec![what, o[1], o[2], o[3], len]
    }

    #[test]
    fn a_script_with_reordering_and_wrap_around_passes() {
        let mut input = vec![1];
        input.extend_from_slice(&(u32::MAX - 5).to_be_bytes());
        input.extend_from_slice(&7u32.to_be_bytes());
        input.extend(seg(0x08, 0, 0)); // SYN
        input.extend(seg(0x10, 20, 10)); // ahead
        input.extend(seg(0x10, 1, 10));
        input.extend(seg(0x10, 5, 20)); // overlaps both
        input.extend(seg(0x14, 0, 3)); // the other way, from the middle
        input.extend(seg(0x30, 40, 2)); // FIN after a hole
        run(&input);
    }

    #[test]
    fn the_server_speaking_first_is_up_without_a_port() {
        // No port: the first sender is the up side, here the script's
        // server; its bytes are still checked against its own stream.
        let mut input = vec![1];
        input.extend_from_slice(&0u32.to_be_bytes());
        input.extend_from_slice(&0xffff_fffeu32.to_be_bytes());
        input.extend(seg(0x14, 0, 9));
        input.extend(seg(0x10, 3, 4));
        input.extend(seg(0x14, 9, 9));
        run(&input);
    }

    #[test]
    #[should_panic(expected = "the model wants")]
    fn a_wrong_model_is_caught() {
        // The harness itself must be able to fail: a model that places a
        // SYN's bytes at the SYN's own sequence number disagrees.
        let mut c = Checked::new(None, None);
        let s = Segment {
            time: Duration::ZERO,
            from: endpoints(0).0,
            to: endpoints(0).1,
            seq: 100,
            syn: false,
            ack: true,
            fin: false,
            rst: false,
            payload: b"abc".to_vec(),
        };
        c.push(&s);
        c.model.halves[0][0].next -= 1; // the model expects one byte more
        c.push(&Segment {
            seq: 103,
            payload: b"d".to_vec(),
            ..s
        });
    }
}
