//! Property tests of the promise `amp decode | amp encode` makes: whatever
//! bytes a value holds, printing it as JSON (as text, as decode writes it)
//! and reading that back (as encode does) gives the same bytes — typed
//! when the bytes read back as their type, as `{"base64": ...}` otherwise.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value as Json;

use super::*;
use crate::schema::{ArgType, Field};

/// What decode prints for `raw` of type `ty`, through JSON text.
fn printed(ty: &ArgType, raw: &Bytes) -> Json {
    let v = try_from_wire(ty, raw, 0).unwrap_or_else(|_| marker::base64_marker(raw));
    let text = serde_json::to_string(&v).expect("JSON values print");
    serde_json::from_str(&text).expect("printed JSON reads back")
}

fn field(name: &str, ty: ArgType, optional: bool) -> Field {
    Field {
        name: name.into(),
        ty,
        optional,
    }
}

/// The types checked: every scalar, and lists of them nested.
fn types() -> Vec<ArgType> {
    use ArgType::*;
    let scalars = vec![
        Integer,
        String,
        Unicode,
        Boolean,
        Float,
        Decimal,
        DateTime,
        Path,
        Raw { class: None },
    ];
    let mut all = scalars.clone();
    for s in &scalars {
        all.push(ListOf {
            of: Box::new(s.clone()),
        });
    }
    all.push(ListOf {
        of: Box::new(ListOf {
            of: Box::new(Float),
        }),
    });
    all.push(AmpList {
        fields: vec![
            field("n", Integer, false),
            field("s", String, true),
            field(
                "xs",
                ListOf {
                    of: Box::new(Unicode),
                },
                false,
            ),
        ],
    });
    all
}

/// Bytes a value of some type may really hold: text the codecs write for
/// random values, random text of the characters those use, and any bytes.
fn raw_values() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        any::<i128>().prop_map(|i| amp::to_value(&i).unwrap()),
        any::<f64>().prop_map(|f| amp::to_value(&f).unwrap()),
        any::<bool>().prop_map(|b| amp::to_value(&b).unwrap()),
        prop::collection::vec(any::<i64>(), 0..6).prop_map(|v| amp::to_value(&v).unwrap()),
        prop::collection::vec(any::<f64>(), 0..6).prop_map(|v| amp::to_value(&v).unwrap()),
        prop::collection::vec(".{0,8}", 0..4).prop_map(|v| amp::to_value(&v).unwrap()),
        "[-+0-9.eE_ a-zA-Z:T]{0,40}".prop_map(Bytes::from),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Printed and read back, every value is the same bytes, whatever its
    /// type and content.
    #[test]
    fn printed_values_encode_to_the_same_bytes(raw in raw_values(), which in 0usize..64) {
        let all = types();
        let ty = &all[which % all.len()];
        let v = printed(ty, &raw);
        let back = to_wire(ty, &v, Mode::Encode, 0)
            .map_err(|e| TestCaseError::fail(format!("{ty:?} {v}: {e}")))?;
        prop_assert_eq!(back, raw, "{:?} printed as {}", ty, v);
    }
}
