//! Table tests of the JSON values: golden bytes from Twisted, reading back,
//! errors, chunking, nesting and the fallbacks that keep bytes exact.

use bytes::Bytes;
use serde_json::{json, Value as Json};

use super::*;
use crate::schema::{ArgType, Field};

/// (schema type, JSON as given, hex of the bytes Twisted's argument class
/// writes for that value), printed by `interop/cli_values_golden.py`.
const GOLDEN: &[(&str, &str, &str)] = &[
    (r#"{"type":"Integer"}"#, r#"13"#, "3133"),
    (r#"{"type":"Integer"}"#, r#"-7"#, "2d37"),
    (r#"{"type":"Integer"}"#, r#"0"#, "30"),
    (r#"{"type":"Integer"}"#, r#"18446744073709551615"#, "3138343436373434303733373039353531363135"),
    (r#"{"type":"Integer"}"#, r#""-123456789012345678901234567890""#, "2d313233343536373839303132333435363738393031323334353637383930"),
    (r#"{"type":"Integer"}"#, r#"" 1_000 ""#, "31303030"),
    (r#"{"type":"String"}"#, r#""hello""#, "68656c6c6f"),
    (r#"{"type":"String"}"#, r#""""#, ""),
    (r#"{"type":"String"}"#, r#"{"base64":"/wBh"}"#, "ff0061"),
    (r#"{"type":"Unicode"}"#, r#""caf\u00e9 \u2603""#, "636166c3a920e29883"),
    (r#"{"type":"Boolean"}"#, r#"true"#, "54727565"),
    (r#"{"type":"Boolean"}"#, r#"false"#, "46616c7365"),
    (r#"{"type":"Float"}"#, r#"0.5"#, "302e35"),
    (r#"{"type":"Float"}"#, r#"0.1"#, "302e31"),
    (r#"{"type":"Float"}"#, r#"1e+22"#, "31652b3232"),
    (r#"{"type":"Float"}"#, r#"1e-07"#, "31652d3037"),
    (r#"{"type":"Float"}"#, r#"-0.0"#, "2d302e30"),
    (r#"{"type":"Float"}"#, r#"3"#, "332e30"),
    (r#"{"type":"Float"}"#, r#"123456789.123"#, "3132333435363738392e313233"),
    (r#"{"type":"Float"}"#, r#""nan""#, "6e616e"),
    (r#"{"type":"Float"}"#, r#""-inf""#, "2d696e66"),
    (r#"{"type":"Decimal"}"#, r#""1.10""#, "312e3130"),
    (r#"{"type":"Decimal"}"#, r#""-0""#, "2d30"),
    (r#"{"type":"Decimal"}"#, r#""1.5e3""#, "312e35452b33"),
    (r#"{"type":"Decimal"}"#, r#""NaN""#, "4e614e"),
    (r#"{"type":"Decimal"}"#, r#""-Infinity""#, "2d496e66696e697479"),
    (r#"{"type":"Decimal"}"#, r#"12"#, "3132"),
    (r#"{"type":"DateTime"}"#, r#""2024-02-29T13:05:09.000000+05:30""#, "323032342d30322d32395431333a30353a30392e3030303030302b30353a3330"),
    (r#"{"type":"DateTime"}"#, r#""2024-02-29T13:05:09.123456-08:00""#, "323032342d30322d32395431333a30353a30392e3132333435362d30383a3030"),
    (r#"{"type":"DateTime"}"#, r#""2000-01-01T00:00:00+00:00""#, "323030302d30312d30315430303a30303a30302e3030303030302d30303a3030"),
    (r#"{"type":"Path"}"#, r#""/tmp/x y""#, "2f746d702f782079"),
    (r#"{"type":"ListOf","of":{"type":"Integer"}}"#, r#"[1,2,300]"#, "0001310001320003333030"),
    (r#"{"type":"ListOf","of":{"type":"Integer"}}"#, r#"[]"#, ""),
    (r#"{"type":"ListOf","of":{"type":"Unicode"}}"#, r#"["a","\u00e9",""]"#, "0001610002c3a90000"),
    (r#"{"type":"ListOf","of":{"type":"Boolean"}}"#, r#"[true,false]"#, "000454727565000546616c7365"),
    (r#"{"type":"ListOf","of":{"type":"Float"}}"#, r#"[0.5,"inf"]"#, "0003302e350003696e66"),
    (r#"{"type":"ListOf","of":{"type":"Decimal"}}"#, r#"["1.10","NaN"]"#, "0004312e313000034e614e"),
    (r#"{"type":"ListOf","of":{"type":"DateTime"}}"#, r#"["2012-01-23T12:34:56.054321-01:23"]"#, "0020323031322d30312d32335431323a33343a35362e3035343332312d30313a3233"),
    (r#"{"type":"ListOf","of":{"type":"ListOf","of":{"type":"Integer"}}}"#, r#"[[1],[2,3],[]]"#, "000300013100060001320001330000"),
    (r#"{"type":"AmpList","fields":[{"name":"a","type":"Integer"},{"name":"b","type":"Unicode","optional":true}]}"#, r#"[{"a":1,"b":"x"},{"a":2}]"#, "00016100013100016200017800000001610001320000"),
    (r#"{"type":"AmpList","fields":[{"name":"xs","type":"ListOf","of":{"type":"String"}},{"name":"when","type":"DateTime"}]}"#, r#"[{"xs":["p",{"base64":"/w=="}],"when":"1999-12-31T23:59:59.999999+00:00"}]"#, "00047768656e0020313939392d31322d33315432333a35393a35392e3939393939392d30303a30300002787300060001700001ff0000"),
];

fn ty(s: &str) -> ArgType {
    serde_json::from_str(s).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

#[test]
fn json_to_wire_is_twisteds_bytes() {
    for (t, v, want) in GOLDEN {
        let v: Json = serde_json::from_str(v).unwrap();
        let got = to_wire(&ty(t), &v, Mode::Call, 0).unwrap_or_else(|e| panic!("{t} {v}: {e}"));
        assert_eq!(hex(&got), *want, "{t} {v}");
    }
}

#[test]
fn wire_reads_back_and_writes_the_same_bytes() {
    for (t, _, want) in GOLDEN {
        let raw: Vec<u8> = (0..want.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&want[i..i + 2], 16).unwrap())
            .collect();
        let raw = Bytes::from(raw);
        let ty = ty(t);
        let v = try_from_wire(&ty, &raw, 0).unwrap_or_else(|e| panic!("{t} {want}: {e}"));
        let back = to_wire(&ty, &v, Mode::Encode, 0).unwrap();
        assert_eq!(hex(&back), *want, "{t} {v}");
    }
}

#[test]
fn wire_to_json() {
    let table: &[(&str, &[u8], Json)] = &[
        (r#"{"type":"Integer"}"#, b"94", json!(94)),
        (
            r#"{"type":"Integer"}"#,
            b"-123456789012345678901234567890",
            json!("-123456789012345678901234567890"),
        ),
        (
            r#"{"type":"Integer"}"#,
            b"18446744073709551615",
            json!(18446744073709551615u64),
        ),
        (
            r#"{"type":"String"}"#,
            b"\xff\x00",
            json!({"base64": "/wA="}),
        ),
        (r#"{"type":"Unicode"}"#, "é".as_bytes(), json!("é")),
        (r#"{"type":"Boolean"}"#, b"True", json!(true)),
        (r#"{"type":"Float"}"#, b"0.5", json!(0.5)),
        (r#"{"type":"Float"}"#, b"inf", json!("inf")),
        (r#"{"type":"Float"}"#, b"nan", json!("nan")),
        (r#"{"type":"Decimal"}"#, b"1.10", json!("1.10")),
        (
            r#"{"type":"DateTime"}"#,
            b"2024-02-29T13:05:09.000000+05:30",
            json!("2024-02-29T13:05:09.000000+05:30"),
        ),
        (r#"{"type":"Descriptor"}"#, b"3", json!(3)),
        (
            r#"{"type":"ListOf","of":{"type":"String"}}"#,
            b"\x00\x01a\x00\x01\xff",
            json!(["a", {"base64": "/w=="}]),
        ),
        (
            r#"{"type":"AmpList","fields":[{"name":"x","type":"Integer"}]}"#,
            b"\x00\x01x\x00\x011\x00\x01y\x00\x01z\x00\x00",
            json!([{"x": 1, "y": "z"}]),
        ),
        // Not what the type reads: the exact bytes.
        (r#"{"type":"Integer"}"#, b"x", json!({"base64": "eA=="})),
        (
            r#"{"type":"Boolean"}"#,
            b"true",
            json!({"base64": "dHJ1ZQ=="}),
        ),
        (r#"{"type":"Unicode"}"#, b"\xff", json!({"base64": "/w=="})),
        // Readable, but not written back byte for byte: the exact bytes.
        (r#"{"type":"Integer"}"#, b" 5", json!({"base64": "IDU="})),
        (
            r#"{"type":"Float"}"#,
            b"1.50",
            json!({"base64": "MS41MA=="}),
        ),
        (
            r#"{"type":"ListOf","of":{"type":"Integer"}}"#,
            b"\x00\x02",
            json!({"base64": "AAI="}),
        ),
        // Keys out of order in an AmpList element: not Twisted's box.
        (
            r#"{"type":"AmpList","fields":[]}"#,
            b"\x00\x01b\x00\x00\x00\x01a\x00\x00\x00\x00",
            json!({"base64": "AAFiAAAAAWEAAAAA"}),
        ),
    ];
    for (t, raw, want) in table {
        let raw_bytes = Bytes::copy_from_slice(raw);
        let got = try_from_wire(&ty(t), &raw_bytes, 0)
            .unwrap_or_else(|_| marker::base64_marker(&raw_bytes));
        assert_eq!(&got, want, "{t} {raw:?}");
        let back = to_wire(&ty(t), &got, Mode::Encode, 0).unwrap();
        assert_eq!(
            &back[..],
            *raw,
            "{t}: printed values are written back exactly"
        );
    }
}

#[test]
fn json_errors() {
    let table: &[(&str, Json, &str)] = &[
        (r#"{"type":"Integer"}"#, json!(1.5), "1.5 is not an integer"),
        (
            r#"{"type":"Integer"}"#,
            json!(1e30),
            "beyond 64 bits must be given as a string",
        ),
        (
            r#"{"type":"Integer"}"#,
            json!("12a"),
            "\"12a\" is not an integer",
        ),
        (
            r#"{"type":"Integer"}"#,
            json!(true),
            "expected an integer, got a boolean",
        ),
        (r#"{"type":"String"}"#, json!(5), "expected a string"),
        (
            r#"{"type":"Boolean"}"#,
            json!("True"),
            "expected true or false, got a string",
        ),
        (
            r#"{"type":"Float"}"#,
            json!("fast"),
            "\"fast\" is not a float",
        ),
        (
            r#"{"type":"Decimal"}"#,
            json!("1.2.3"),
            "\"1.2.3\" is not a decimal",
        ),
        (
            r#"{"type":"DateTime"}"#,
            json!("yesterday"),
            "is not a date and time",
        ),
        (
            r#"{"type":"DateTime"}"#,
            json!("2024-02-29T13:05:09"),
            "is not a date and time",
        ),
        (r#"{"type":"Descriptor"}"#, json!(3), "amp call cannot send"),
        (
            r#"{"type":"ListOf","of":{"type":"Integer"}}"#,
            json!({"a": 1}),
            "expected an array",
        ),
        (
            r#"{"type":"ListOf","of":{"type":"Integer"}}"#,
            json!([1, "x"]),
            "`[1]`: \"x\" is not an integer",
        ),
        (
            r#"{"type":"AmpList","fields":[{"name":"a","type":"Integer"}]}"#,
            json!([{"a": 1}, {"b": 2}]),
            "`[1].b`: no such argument (declared: a (Integer))",
        ),
        (
            r#"{"type":"AmpList","fields":[{"name":"a","type":"Integer"}]}"#,
            json!([{}]),
            "`[0]`: missing required argument: a (Integer)",
        ),
        (
            r#"{"type":"AmpList","fields":[{"name":"a","type":"Integer"}]}"#,
            json!([1]),
            "expected an object",
        ),
        (
            r#"{"type":"String"}"#,
            json!({"base64": "***"}),
            "does not hold base64",
        ),
    ];
    for (t, v, want) in table {
        let e = to_wire(&ty(t), v, Mode::Call, 0).unwrap_err().to_string();
        assert!(e.contains(want), "{t} {v}: {e}");
    }
    // amp encode writes a descriptor's ordinal.
    let d = to_wire(&ArgType::Descriptor, &json!(3), Mode::Encode, 0).unwrap();
    assert_eq!(&d[..], b"3");
}

#[test]
fn nesting_is_bounded() {
    let mut t = ArgType::Integer;
    let mut v = json!(1);
    for _ in 0..max_nesting() {
        t = ArgType::ListOf { of: Box::new(t) };
        v = json!([v]);
    }
    let raw = to_wire(&t, &v, Mode::Call, 0).unwrap();
    assert_eq!(try_from_wire(&t, &raw, 0).unwrap(), v);
    let deeper = ArgType::ListOf { of: Box::new(t) };
    let e = to_wire(&deeper, &json!([v]), Mode::Call, 0).unwrap_err();
    assert!(e.to_string().contains("deeper than 64 levels"), "{e}");
    let mut framed = vec![0u8, raw.len() as u8];
    framed.extend_from_slice(&raw);
    assert!(try_from_wire(&deeper, &Bytes::from(framed), 0).is_err());
}

fn field(name: &str, t: ArgType, optional: bool) -> Field {
    Field {
        name: name.into(),
        ty: t,
        optional,
    }
}

#[test]
fn big_values_are_chunked_and_joined() {
    let fields = [field("data", ArgType::BigString, false)];
    for len in [0usize, 5, 65_535, 65_536, 3 * 65_535 + 7] {
        let text = "x".repeat(len);
        let v = json!(text);
        let b = build_box(
            Some(&fields),
            &[("data".into(), Given::Json(&v))],
            Mode::Call,
            false,
            0,
        )
        .unwrap();
        let chunks = len.div_ceil(65_535).max(1);
        assert_eq!(b.len(), chunks, "{len} bytes");
        assert_eq!(b.get("data").unwrap().len(), len.min(65_535));
        if chunks > 1 {
            assert!(b.contains_key(format!("data.{chunks}")));
        }
        let read = read_box(Some(&fields), &b, &[]);
        assert_eq!(read.fields.len(), 1, "chunks read as one value");
        assert_eq!(read.fields[0].json, v);
    }
    // Laid out otherwise than we write them: shown chunk by chunk, exactly.
    let mut b = amp::AmpBox::new();
    b.insert("data", "ab");
    b.insert("data.2", "cd");
    let read = read_box(Some(&fields), &b, &[]);
    let (obj, _) = read.to_json();
    assert_eq!(Json::Object(obj), json!({"data": "ab", "data.2": "cd"}));
    // A plain String cannot hold more than one value.
    let plain = [field("data", ArgType::String, false)];
    let v = json!("x".repeat(65_536));
    let e = build_box(
        Some(&plain),
        &[("data".into(), Given::Json(&v))],
        Mode::Call,
        false,
        0,
    )
    .unwrap_err();
    assert!(e.to_string().contains("BigString/BigUnicode chunks"), "{e}");
}

#[test]
fn read_box_types_known_keys_and_keeps_the_rest() {
    let fields = [
        field("n", ArgType::Integer, false),
        field("o", ArgType::Boolean, true),
    ];
    let b: amp::AmpBox = [
        (&b"n"[..], &b"7"[..]),
        (b"_answer", b"1"),
        (b"extra", b"\xff"),
        (b"\xfe", b"k"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_vec(), v.to_vec()))
    .collect();
    let read = read_box(Some(&fields), &b, &["_answer"]);
    let (obj, binary) = read.to_json();
    assert_eq!(
        Json::Object(obj),
        json!({"n": 7, "extra": {"base64": "/w=="}})
    );
    assert_eq!(binary, vec![json!([{"base64": "/g=="}, "k"])]);
    assert_eq!(render::lines(&read), "extra: b'\\xff'\nn: 7\nb'\\xfe': k\n");
}
