//! `#[derive(Record)]`: wire names and order, options, `AmpList`s, empty
//! records and chunked values.

use amp::{AmpBox, Argument, DecodeError, Record};

use crate::wire;

#[allow(non_snake_case)]
#[derive(Debug, PartialEq, Record)]
struct Unsorted {
    z: i32,
    a: String,
    B: bool,
}

#[test]
fn fields_are_written_in_bytewise_wire_name_order() {
    assert_eq!(Unsorted::FIELDS, &["B", "a", "z"]);
    let r = Unsorted {
        z: -7,
        a: "hé".into(),
        B: true,
    };
    let b = r.to_box().unwrap();
    let keys: Vec<&[u8]> = b.keys().collect();
    assert_eq!(keys, [&b"B"[..], b"a", b"z"]);
    assert_eq!(
        &b.to_bytes().unwrap()[..],
        &wire(&[("B", b"True"), ("a", "hé".as_bytes()), ("z", b"-7")])[..]
    );
    assert_eq!(Unsorted::from_box(&b).unwrap(), r);
}

#[derive(Debug, PartialEq, Record)]
struct Dashed {
    #[amp(name = "user-name")]
    user_name: String,
    #[amp(name = "user_id")]
    id: u64,
    plain: i8,
}

#[test]
fn dash_and_renamed_wire_names() {
    assert_eq!(Dashed::FIELDS, &["plain", "user-name", "user_id"]);
    let r = Dashed {
        user_name: "bob".into(),
        id: 9,
        plain: 1,
    };
    let b = r.to_box().unwrap();
    assert_eq!(b.get("user-name").unwrap(), &b"bob"[..]);
    assert_eq!(b.get("user_id").unwrap(), &b"9"[..]);
    assert!(b.get("user_name").is_none());
    assert!(b.get("id").is_none());
    assert_eq!(
        &b.to_bytes().unwrap()[..],
        &wire(&[("plain", b"1"), ("user-name", b"bob"), ("user_id", b"9")])[..]
    );
    assert_eq!(Dashed::from_box(&b).unwrap(), r);
}

#[derive(Debug, PartialEq, Record)]
struct Optional {
    required: i32,
    maybe: Option<String>,
}

#[test]
fn option_fields_absent_and_present() {
    let none = Optional {
        required: 1,
        maybe: None,
    };
    let b = none.to_box().unwrap();
    assert_eq!(b.len(), 1);
    assert!(!b.contains_key("maybe"));
    assert_eq!(Optional::from_box(&b).unwrap(), none);

    let some = Optional {
        required: 1,
        maybe: Some("x".into()),
    };
    let b = some.to_box().unwrap();
    assert_eq!(b.get("maybe").unwrap(), &b"x"[..]);
    assert_eq!(Optional::from_box(&b).unwrap(), some);

    // A missing required key is an error; an unknown key is ignored.
    let mut b = AmpBox::new();
    b.insert("maybe", "x");
    b.insert("extra", "ignored");
    let err: DecodeError = Optional::from_box(&b).unwrap_err();
    assert!(err.to_string().contains("required"), "{err}");
    b.insert("required", "5");
    assert_eq!(
        Optional::from_box(&b).unwrap(),
        Optional {
            required: 5,
            maybe: Some("x".into())
        }
    );
}

#[derive(Debug, PartialEq, Record)]
struct Item {
    name: String,
    qty: u32,
}

#[derive(Debug, PartialEq, Record)]
struct Order {
    id: u32,
    items: Vec<Item>,
}

#[derive(Debug, PartialEq, Record)]
struct Orders {
    orders: Vec<Order>,
    #[amp(name = "best-item")]
    best: Option<Item>,
}

#[test]
fn vec_of_records_is_an_amp_list() {
    let items = vec![
        Item {
            name: "a".into(),
            qty: 1,
        },
        Item {
            name: "bb".into(),
            qty: 22,
        },
    ];
    // AmpList: each element a complete box, concatenated, no length prefix.
    let v = amp::to_value(&items).unwrap();
    let mut expected = wire(&[("name", b"a"), ("qty", b"1")]);
    expected.extend(wire(&[("name", b"bb"), ("qty", b"22")]));
    assert_eq!(&v[..], &expected[..]);
    assert_eq!(amp::from_value::<Vec<Item>>(v).unwrap(), items);

    // Empty list: empty value.
    let empty: Vec<Item> = Vec::new();
    assert!(amp::to_value(&empty).unwrap().is_empty());
    assert_eq!(amp::from_value::<Vec<Item>>(&b""[..]).unwrap(), empty);
}

#[test]
fn nested_amp_lists_round_trip() {
    let o = Orders {
        orders: vec![
            Order {
                id: 1,
                items: vec![Item {
                    name: "x".into(),
                    qty: 3,
                }],
            },
            Order {
                id: 2,
                items: vec![],
            },
        ],
        best: Some(Item {
            name: "y".into(),
            qty: 4,
        }),
    };
    let b = o.to_box().unwrap();
    assert_eq!(Orders::FIELDS, &["best-item", "orders"]);
    // A record used as a single value is one serialised box.
    assert_eq!(
        b.get("best-item").unwrap(),
        &wire(&[("name", b"y"), ("qty", b"4")])[..]
    );
    let inner = wire(&[("name", b"x"), ("qty", b"3")]);
    let mut orders = wire(&[("id", b"1"), ("items", &inner)]);
    orders.extend(wire(&[("id", b"2"), ("items", b"")]));
    assert_eq!(b.get("orders").unwrap(), &orders[..]);
    assert_eq!(Orders::from_box(&b).unwrap(), o);
}

#[test]
fn record_as_value_needs_exactly_one_box() {
    let two = [wire(&[("name", b"a"), ("qty", b"1")]), wire(&[])].concat();
    assert!(amp::from_value::<Item>(two).is_err());
    let item = Item {
        name: "n".into(),
        qty: 0,
    };
    let v = amp::to_value(&item).unwrap();
    assert_eq!(Item::decode(v, &mut amp::Context::none()).unwrap(), item);
}

#[derive(Debug, PartialEq, Record)]
struct Raw {
    r#type: String,
    r#match: i32,
}

#[test]
fn raw_identifiers_drop_the_prefix() {
    assert_eq!(Raw::FIELDS, &["match", "type"]);
    let r = Raw {
        r#type: "t".into(),
        r#match: 2,
    };
    let b = r.to_box().unwrap();
    assert_eq!(b.get("type").unwrap(), &b"t"[..]);
    assert_eq!(Raw::from_box(&b).unwrap(), r);
}

#[derive(Debug, PartialEq, Record)]
struct Empty {}

#[derive(Debug, PartialEq, Record)]
struct UnitRecord;

#[test]
fn empty_records() {
    assert!(Empty::FIELDS.is_empty());
    assert!(Empty {}.to_box().unwrap().is_empty());
    assert_eq!(Empty::from_box(&AmpBox::new()).unwrap(), Empty {});
    assert_eq!(UnitRecord::from_box(&AmpBox::new()).unwrap(), UnitRecord);
    let v = amp::to_value(&vec![UnitRecord, UnitRecord]).unwrap();
    assert_eq!(&v[..], b"\x00\x00\x00\x00");
    assert_eq!(amp::from_value::<Vec<UnitRecord>>(v).unwrap().len(), 2);
}

/// Chunked arguments in a derived record: `data` spans `data`, `data.2`;
/// `note` (optional) is absent or chunked likewise.
#[derive(Debug, PartialEq, Record)]
struct Big {
    data: amp::BigBytes,
    #[amp(name = "data-len")]
    data_len: i64,
    note: Option<amp::BigString>,
    zipped: amp::Compressed,
}

#[test]
fn derived_records_chunk_big_values() {
    let r = Big {
        data: vec![9u8; 65_536].into(),
        data_len: 65_536,
        note: None,
        zipped: vec![1u8; 10].into(),
    };
    let b = r.to_box().unwrap();
    let keys: Vec<&[u8]> = b.keys().collect();
    assert_eq!(keys, [&b"data"[..], b"data-len", b"data.2", b"zipped"]);
    assert_eq!(b.get("data.2"), Some(&[9u8][..]));
    assert_eq!(Big::from_box(&b).unwrap(), r);

    let mut b = b;
    b.insert("note", "é".as_bytes()[..1].to_vec());
    b.insert("note.2", "é".as_bytes()[1..].to_vec());
    let got = Big::from_box(&b).unwrap();
    assert_eq!(got.note.as_deref().map(String::as_str), Some("é"));
    // Without `data`, the record is missing it, even with `data.2` there.
    b.remove("data");
    assert!(matches!(
        Big::from_box(&b),
        Err(DecodeError::Missing { key }) if key == "data"
    ));
}
