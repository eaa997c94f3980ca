//! Compile-time behaviour of the derive macros: every rejected input gets a
//! clear error at the right place (`tests/ui/fail_*.rs`). The accepted forms
//! (`tests/ui/pass_all.rs`, warnings denied) are the `ui_pass` test target,
//! built and run by `cargo test` itself: with only compile-fail cases,
//! trybuild checks (no codegen) its copy of the dependencies and all cases
//! in one `cargo check --keep-going`, instead of building every dependency
//! and then each case in turn.
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p amp-derive --test trybuild`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail_*.rs");
}
