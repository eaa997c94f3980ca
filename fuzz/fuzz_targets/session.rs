//! Fuzz target `session`: the whole [`Session`] driven by an arbitrary script.
//!
//! The checks and the input layout are documented in
//! `harness/src/session.rs`, which also runs on stable through the `replay`
//! binary. Run with `cargo +nightly fuzz run session` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amp_fuzz_harness::session::run(data));
