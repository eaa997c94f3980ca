//! A box as `key: value` lines, for people.
//!
//! * A key is printed with `amp::display_bytes` (as is when printable
//!   ASCII, else Python's `repr` of the bytes, `b'\xff'`).
//! * A list that decoded as its schema type (`ListOf`, `AmpList`) is
//!   printed as compact JSON.
//! * Any other value is printed as its wire bytes: as is when they are
//!   UTF-8 with no control character, no leading or trailing white space,
//!   and do not start with `"` or `b'`/`b"`; quoted as a JSON string
//!   (`"two\nlines"`, `""` when empty) when they are other UTF-8; and as
//!   Python's `repr` of the bytes (`b'\xff\x00'`) when they are not UTF-8.
//!   So an `Integer` shows its digits, a `Float` Python's `repr`, a
//!   `Boolean` `True`/`False`, exactly as they travel.

use std::fmt::Write as _;

use super::fields::{FieldOut, ReadBox};

/// `raw` as one printable token (see the module documentation).
pub fn text(raw: &[u8]) -> String {
    let Ok(s) = std::str::from_utf8(raw) else {
        return amp::display_bytes(raw);
    };
    let plain = !s.is_empty()
        && !s.chars().any(char::is_control)
        && s.trim() == s
        && !s.starts_with('"')
        && !s.starts_with("b'")
        && !s.starts_with("b\"");
    if plain {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// One value as printed after `key: `.
pub fn value_text(f: &FieldOut) -> String {
    if f.structured {
        f.json.to_string()
    } else {
        text(&f.raw)
    }
}

/// The lines `key: value` of a box's values, each ending in a newline.
pub fn lines(b: &ReadBox) -> String {
    let mut out = String::new();
    for f in &b.fields {
        let _ = writeln!(out, "{}: {}", amp::display_bytes(&f.key), value_text(f));
    }
    out
}

/// A hex dump of `bytes`: offset, 16 bytes in hex, and the printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, row) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", i * 16);
        for j in 0..16 {
            match row.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push_str(" |");
        for &b in row {
            out.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let table: &[(&[u8], &str)] = &[
            (b"94", "94"),
            (b"hello world", "hello world"),
            ("café".as_bytes(), "café"),
            (b"", "\"\""),
            (b" padded", "\" padded\""),
            (b"two\nlines", "\"two\\nlines\""),
            (b"tab\there", "\"tab\\there\""),
            (b"\"quoted\"", "\"\\\"quoted\\\"\""),
            (b"b'x'", "\"b'x'\""),
            (b"\xff\x00a", "b'\\xff\\x00a'"),
        ];
        for (raw, want) in table {
            assert_eq!(text(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn dump() {
        let full: Vec<u8> = (0..16).collect();
        assert_eq!(
            hex_dump(&full),
            "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n"
        );
        let d = hex_dump(b"\x00\x04_ask\x00\x011\x00\x00");
        assert_eq!(
            d,
            "00000000  00 04 5f 61 73 6b 00 01  31 00 00                 |.._ask..1..|\n"
        );
    }
}
