//! Compile-time behaviour of the derive macros: every rejected input gets a
//! clear error at the right place (`tests/ui/fail_*.rs`), and the accepted
//! forms compile warning-free (`tests/ui/pass_*.rs`).
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p amp --test trybuild`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
