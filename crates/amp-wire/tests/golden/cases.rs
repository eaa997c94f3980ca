//! The golden cases: what Twisted writes and reads, matched byte for byte.

use std::collections::HashMap;

use amp_wire::{decode_all, AmpBox};
use bytes::{Bytes, BytesMut};

use crate::describe::{decode_as, encode_described, list_of};
use crate::{hex, run_script, unhex, Json};

/// Inputs where Twisted is more lenient than amp-rs on purpose: Twisted's
/// `ListOf`/`AmpList` parsers silently drop a truncated trailing element;
/// amp-rs reports it as a decoding error.
const LENIENT_IN_TWISTED: &[&str] = &[
    "from-listof_integer-3",
    "from-listof_integer-4",
    "from-amplist-3",
];

#[test]
fn golden_cases_match_twisted() {
    let out = run_script(&[], b"");
    let cases = Json {
        s: out.as_bytes(),
        i: 0,
    }
    .array_of_objects();
    assert!(cases.len() > 200, "only {} golden cases", cases.len());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for c in &cases {
        let id = &c["id"];
        let ty = c["type"].as_str();
        let value = c["value"].as_str();
        let wire = unhex(&c["wire"]);
        *counts.entry(c["kind"].clone()).or_default() += 1;
        match c["kind"].as_str() {
            "box" => {
                let entries: Vec<(Bytes, Bytes)> = list_of(value, ';', |kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (Bytes::from(unhex(k)), Bytes::from(unhex(v)))
                });
                let b = AmpBox::from_entries(entries.clone());
                assert_eq!(hex(&b.to_bytes().unwrap()), hex(&wire), "{id}: encode");
                let mut dec = amp_wire::BoxDecoder::new();
                let mut buf = BytesMut::from(&wire[..]);
                let got = dec.decode(&mut buf).unwrap().expect("one box");
                assert!(buf.is_empty(), "{id}");
                assert_eq!(got, b, "{id}: decode");
                assert_eq!(decode_all(&Bytes::from(wire)).unwrap(), vec![b], "{id}");
            }
            "to" => {
                let ours = encode_described(ty, value);
                assert_eq!(
                    ours,
                    Bytes::from(wire.clone()),
                    "{id}: our encoding of {ty} {value} differs from Twisted's {:?}",
                    String::from_utf8_lossy(&wire)
                );
                // And our decoder reads Twisted's bytes back to the value.
                let (desc, again) = decode_as(ty, &wire).unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(desc, value, "{id}: decode");
                assert_eq!(again, Bytes::from(wire), "{id}: re-encode");
            }
            "from" => {
                let input = unhex(&c["input"]);
                let got = decode_as(ty, &input);
                if LENIENT_IN_TWISTED.contains(&id.as_str()) {
                    assert!(got.is_err(), "{id}: expected our stricter error");
                    continue;
                }
                match (value, got) {
                    ("ERROR", Err(_)) => {}
                    ("ERROR", Ok(v)) => panic!(
                        "{id}: Twisted rejects {ty} {:?}, we accepted it as {v:?}",
                        String::from_utf8_lossy(&input)
                    ),
                    (_, Err(e)) => panic!(
                        "{id}: Twisted accepts {ty} {:?}, we rejected it: {e}",
                        String::from_utf8_lossy(&input)
                    ),
                    (_, Ok((desc, again))) => {
                        assert_eq!(
                            desc,
                            value,
                            "{id}: value of {:?}",
                            String::from_utf8_lossy(&input)
                        );
                        assert_eq!(hex(&again), hex(&wire), "{id}: re-encoding");
                    }
                }
            }
            other => panic!("unknown kind {other}"),
        }
    }
    for kind in ["box", "to", "from"] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 5,
            "few {kind} cases"
        );
    }
}
