//! Fuzz target `values`: every argument type's decoder on arbitrary bytes.
//!
//! The checks and the input layout are documented in
//! `harness/src/values.rs`, which also runs on stable through the `replay`
//! binary. Run with `cargo +nightly fuzz run values` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amp_fuzz_harness::values::run(data));
