//! Fixture for amp-schema's Rust generator (not published): the modules
//! `build.rs` generates from `schemas/` with
//! `amp_schema::codegen::rust::Builder`, compiled here without warnings
//! (the crate denies them), then used by the tests: live calls to Twisted
//! (`tests/live.rs`) and the round trip schema → Rust → schema
//! (`tests/round_trip.rs`).

#![deny(warnings)]

/// `twisted.test.test_amp`, as `amp schema import` describes it.
pub mod test_amp {
    include!(concat!(env!("OUT_DIR"), "/test_amp.rs"));
}

/// Every argument type, optional fields, nested lists, errors, a
/// notification, a protocol switch.
pub mod every_type {
    include!(concat!(env!("OUT_DIR"), "/every_type.rs"));
}

/// `every_type` with `Integer` as `num_bigint::BigInt`.
pub mod every_type_bigint {
    include!(concat!(env!("OUT_DIR"), "/bigint/every_type.rs"));
}

/// Names the generator has to change: keywords, collisions, the names of
/// std's prelude.
pub mod names {
    include!(concat!(env!("OUT_DIR"), "/names.rs"));
}

/// `names` again in a private module: clippy lints what is not exported
/// harder (`enum_variant_names` skips public enums), and a crate using the
/// generated code may well keep it private. Nothing here is used, hence
/// `dead_code`.
#[allow(dead_code)]
mod private_names {
    include!(concat!(env!("OUT_DIR"), "/names.rs"));
}
