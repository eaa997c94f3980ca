//! Behaviour of `#[derive(Record)]`, `#[derive(Command)]` and
//! `#[derive(AmpError)]`.
//!
//! Files:
//! * `records.rs`: records: wire names and order, options, `AmpList`s,
//!   empty records, chunked values;
//! * `commands.rs`: commands and their error tables;
//! * `imports.rs`: the generated code needs no imports and no prelude;
//! * `flatten.rs`: `#[amp(flatten)]`, Twisted's command inheritance.

mod commands;
mod flatten;
mod imports;
mod records;

/// Serialise `entries` (already in wire order) as one box, by hand.
fn wire(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in entries {
        out.extend_from_slice(&(k.len() as u16).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    }
    out.extend_from_slice(&[0, 0]);
    out
}
