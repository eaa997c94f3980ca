//! Every argument type: edge cases, errors and encode→decode round trips.
//!
//! Files:
//! * `scalars.rs`: integers, booleans, byte strings, text, paths;
//! * `floats.rs`, `decimals.rs`, `datetimes.rs`: those types;
//! * `lists.rs`: lists and options;
//! * `round_trips.rs`: property tests: every value round-trips, parsers
//!   never panic;
//! * `writer.rs`: a failed encode leaves no partial bytes behind;
//! * `descriptors.rs`: file descriptors travel as ordinals.

use amp_wire::types::Argument;
use amp_wire::{from_value, to_value, DecodeError};
use bytes::Bytes;

mod datetimes;
mod decimals;
mod descriptors;
mod floats;
mod lists;
mod round_trips;
mod scalars;
mod writer;

fn enc<T: Argument>(v: &T) -> String {
    String::from_utf8(to_value(v).expect("encodes").to_vec()).expect("ASCII/UTF-8")
}

fn dec<T: Argument>(s: &[u8]) -> Result<T, DecodeError> {
    from_value::<T>(Bytes::copy_from_slice(s))
}

fn rt<T: Argument + PartialEq + std::fmt::Debug>(v: T) {
    let w = to_value(&v).expect("encodes");
    assert_eq!(from_value::<T>(w).expect("decodes"), v);
}
