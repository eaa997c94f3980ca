//! The checks behind amp-wire's fuzz targets.
//!
//! Each module has one `run(data: &[u8])` that panics when a property of
//! amp-wire fails for that input; `fuzz/fuzz_targets/*.rs` hand libFuzzer's
//! inputs to it, and the `replay` binary (which builds on stable, with no
//! libFuzzer) runs the committed corpus and regressions through the same
//! functions. The module documentation of each says what is checked and
//! how the input is laid out (useful to write seeds by hand).

pub mod box_decoder;
pub mod capture;
pub mod session;
pub mod typed_command;
pub mod values;

/// A fuzz target: its name and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The fuzz targets, by name, with their entry points.
pub const TARGETS: &[Target] = &[
    ("box_decoder", box_decoder::run),
    ("values", values::run),
    ("typed_command", typed_command::run),
    ("session", session::run),
    ("capture", capture::run),
];

/// A stream of boxes parsed the plain way, with no limits: the reference
/// the decoders are compared with. Each frame is its raw entries in wire
/// order (repeats kept) and its byte range in the stream.
#[derive(Debug)]
pub struct RefFrame<'a> {
    /// Raw entries in arrival order.
    pub entries: Vec<(&'a [u8], &'a [u8])>,
    /// Offset of the first byte of the frame.
    pub start: usize,
    /// Offset just past its terminator.
    pub end: usize,
}

/// Why the reference parse stopped before the end of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefStop {
    /// A key length above 255 at this offset.
    KeyTooLong { at: usize, len: usize },
    /// The stream ends inside a frame starting here; `entries_begun` counts
    /// the entries of that frame whose key length was read.
    Truncated { start: usize, entries_begun: usize },
}

/// Parse `data` as back-to-back boxes.
pub fn ref_parse(data: &[u8]) -> (Vec<RefFrame<'_>>, Option<RefStop>) {
    let mut frames = Vec::new();
    let mut pos = 0;
    let u16_at = |p: usize| u16::from_be_bytes([data[p], data[p + 1]]) as usize;
    while pos < data.len() {
        let start = pos;
        let mut entries = Vec::new();
        loop {
            if data.len() < pos + 2 {
                let begun = entries.len();
                return (
                    frames,
                    Some(RefStop::Truncated {
                        start,
                        entries_begun: begun,
                    }),
                );
            }
            let klen = u16_at(pos);
            if klen == 0 {
                pos += 2;
                frames.push(RefFrame {
                    entries,
                    start,
                    end: pos,
                });
                break;
            }
            if klen > 255 {
                return (frames, Some(RefStop::KeyTooLong { at: pos, len: klen }));
            }
            let vlen_at = pos + 2 + klen;
            if data.len() < vlen_at + 2 {
                let begun = entries.len() + 1;
                return (
                    frames,
                    Some(RefStop::Truncated {
                        start,
                        entries_begun: begun,
                    }),
                );
            }
            let vlen = u16_at(vlen_at);
            let vend = vlen_at + 2 + vlen;
            if data.len() < vend {
                let begun = entries.len() + 1;
                return (
                    frames,
                    Some(RefStop::Truncated {
                        start,
                        entries_begun: begun,
                    }),
                );
            }
            entries.push((&data[pos + 2..vlen_at], &data[vlen_at + 2..vend]));
            pos = vend;
        }
    }
    (frames, None)
}

/// What a box with these raw entries must hold: sorted by key, the last
/// of repeated keys winning.
pub fn expected_entries<'a>(raw: &[(&'a [u8], &'a [u8])]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut m = std::collections::BTreeMap::new();
    for &(k, v) in raw {
        m.insert(k, v);
    }
    m.into_iter().collect()
}

/// Write one box from entries given in order (no checks, no sorting).
pub fn wire(entries: &[(&[u8], &[u8])], out: &mut Vec<u8>) {
    for (k, v) in entries {
        out.extend_from_slice(&(k.len() as u16).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    }
    out.extend_from_slice(&[0, 0]);
}
