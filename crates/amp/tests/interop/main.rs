//! Live interoperability with Twisted 26.10 (the reference AMP peer).
//!
//! Both directions: Rust calls the Twisted peer of `interop/peer.py serve`,
//! and `interop/peer.py client <port> <scenario>` calls a Rust server
//! started inside the test. The command set mirrors peer.py's. Also
//! Twisted's own documented examples (ampserver.py / ampclient.py) against
//! Rust, through `interop/doc_examples.py`.
//!
//! Files:
//! * `commands.rs`: the command set (same as `interop/peer.py`);
//! * `helpers.rs`: the Rust side's responders, a Rust server, the
//!   connection to `peer.py serve` and shared assertions;
//! * `values.rs`: Rust calls Twisted with every value type, lists,
//!   `AmpList`s, optional and dash-named arguments;
//! * `errors.rs`: Rust calls Twisted: declared, fatal, inherited and
//!   undeclared errors;
//! * `calls.rs`: Rust calls Twisted: answerless calls, concurrency,
//!   calls back, raw calls, hang-ups and cancellation;
//! * `encoding.rs`: Rust's bytes are Twisted's bytes (float ties, random
//!   values) and bulk values in flight;
//! * `twisted_calls_rust.rs`: `peer.py client` against a Rust server;
//! * `doc_examples.rs`: Twisted's documented examples against Rust.
//!
//! Needs `scripts/setup-interop.sh` (the tests fail, never skip, without it).
//! Run: `cargo test -p amp --test interop`.

#[path = "../common/mod.rs"]
mod common;

mod commands;
mod helpers;

mod calls;
mod doc_examples;
mod encoding;
mod errors;
mod twisted_calls_rust;
mod values;
