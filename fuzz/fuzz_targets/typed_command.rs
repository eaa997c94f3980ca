//! Fuzz target `typed_command`: hand-written records (as `#[derive(Record)]` expands
//!
//! The checks and the input layout are documented in
//! `harness/src/typed_command.rs`, which also runs on stable through the `replay`
//! binary. Run with `cargo +nightly fuzz run typed_command` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amp_fuzz_harness::typed_command::run(data));
