//! Fuzz target `capture`: `amp decode`'s capture reader (pcap/pcapng files
//! and TCP reassembly) against a reference model.
//!
//! The checks and the input layout are documented in
//! `harness/src/capture.rs`, which also runs on stable through the `replay`
//! binary. Run with `cargo +nightly fuzz run -s none capture` (see
//! fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amp_fuzz_harness::capture::run(data));
