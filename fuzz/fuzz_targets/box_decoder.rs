//! Fuzz target `box_decoder`: arbitrary bytes through [`BoxDecoder`], fed in arbitrary
//!
//! The checks and the input layout are documented in
//! `harness/src/box_decoder.rs`, which also runs on stable through the `replay`
//! binary. Run with `cargo +nightly fuzz run box_decoder` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amp_fuzz_harness::box_decoder::run(data));
