//! The public API of the published library crates, held to committed
//! listings: `crates/amp/public-api.txt`, `crates/amp-wire/public-api.txt`,
//! `crates/amp-schema/public-api.txt` and `crates/amp-derive/public-api.txt`.
//! Any change to a public item (a new or removed item, a changed signature,
//! field, variant or trait impl) changes a listing, so it shows up in review.
//!
//! How: rustdoc's JSON output (stable rustdoc, unlocked with
//! `RUSTC_BOOTSTRAP=1`, as the format is not stabilised) for the four crates,
//! built once into `target/public-api`, then read here into one line per
//! public item, under the path users name it by (`amp::Connection`, not where
//! it is defined). `amp` is listed with its default features and `tower`.
//!
//! A listing has, one per line, sorted by path:
//! * modules, structs, enums, unions, traits, functions, constants, statics,
//!   type aliases and macros, with generics and signatures;
//! * public struct fields, enum variants (with their fields), trait items,
//!   the methods, constants and types of inherent impls;
//! * one line per `impl Trait for Type` of a listed type or trait, with the
//!   impl's associated types; the stable auto traits (`Send`, `Sync`,
//!   `Unpin`, `UnwindSafe`, `RefUnwindSafe`) included, rustdoc's blanket
//!   impls (`impl<T> From<T> for T`, ...) left out;
//! * types named by their public paths; standard library items as
//!   `std::module::Name` (`std::future::Future`), whichever of `core`,
//!   `alloc` or `std` defines them;
//! * `alias P = Q` when an item is also reachable under a second path `P`,
//!   and `use P = Q` for a re-exported item of another crate (`Q`).
//!
//! To accept a change: `AMP_BLESS_PUBLIC_API=1 cargo test -p amp --test
//! public_api`, then review and commit the listings.
//!
//! The same JSON also shows that every public type, trait, function and
//! macro has an example that runs (`examples.rs`).
//!
//! The files: this one runs rustdoc and compares; `model.rs` reads the
//! JSON and walks each crate's public paths; `listing.rs` writes a crate's
//! lines, `render.rs` the types and signatures in them; `examples.rs`
//! checks the examples.

mod examples;
mod listing;
mod model;
mod render;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use model::{Doc, Docs};

/// The crates listed: (package, crate name in rustdoc's JSON).
const CRATES: &[(&str, &str)] = &[
    ("amp", "amp"),
    ("amp-wire", "amp_wire"),
    ("amp-schema", "amp_schema"),
    ("amp-derive", "amp_derive"),
];

/// Set to write the listings instead of comparing with them.
const BLESS: &str = "AMP_BLESS_PUBLIC_API";

#[test]
fn amp_public_api() {
    check("amp");
}

#[test]
fn amp_wire_public_api() {
    check("amp-wire");
}

#[test]
fn amp_schema_public_api() {
    check("amp-schema");
}

#[test]
fn amp_derive_public_api() {
    check("amp-derive");
}

#[test]
fn amp_examples() {
    check_examples("amp");
}

#[test]
fn amp_wire_examples() {
    check_examples("amp-wire");
}

#[test]
fn amp_schema_examples() {
    check_examples("amp-schema");
}

#[test]
fn amp_derive_examples() {
    check_examples("amp-derive");
}

/// Every public type, trait, function and macro of `package` has an
/// example that runs, and every public method is shown in one (see
/// `examples.rs`).
fn check_examples(package: &str) {
    let name = package.replace('-', "_");
    let missing = examples::missing(docs(), &name);
    assert!(
        missing.is_empty(),
        "{} public item(s) of {package} without an example that runs:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
    let methods = examples::methods_missing(docs(), &name);
    assert!(
        methods.is_empty(),
        "{} public method(s) of {package} shown in no example that runs (give each a \
         doctest, or call it in one of its type's):\n  {}",
        methods.len(),
        methods.join("\n  ")
    );
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the JSON once for all four tests; the loaded docs, by crate name.
fn docs() -> &'static Docs {
    static DOCS: OnceLock<Result<Docs, String>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        std::panic::catch_unwind(build_docs).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    match docs {
        Ok(docs) => docs,
        Err(e) => panic!("reading the public API failed: {e}"),
    }
}

/// Runs rustdoc and reads its JSON.
fn build_docs() -> Docs {
    let root = workspace_root();
    // A target directory of its own: the one running this test is
    // locked by the `cargo test` that runs it.
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        // Relative: to where `cargo test` was run, the workspace's root
        // in CI.
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
    .join("public-api");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["doc", "--locked", "--no-deps", "--features", "amp/tower"])
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json")
        .env_remove("CARGO_ENCODED_RUSTDOCFLAGS");
    for (package, _) in CRATES {
        command.args(["-p", package]);
    }
    // What `cargo test` sets for this test (its package's name, manifest
    // directory, ...) is not for the build: some build scripts (ring's)
    // would run again whenever these differ from a plain shell's.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let for_the_test = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&&*key);
        if for_the_test {
            command.env_remove(&*key);
        }
    }
    let output = command.output().expect("run cargo doc");
    // Shown with the test's output (on failure, or with --nocapture).
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "cargo doc (rustdoc JSON) failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut docs = BTreeMap::new();
    for (_, name) in CRATES {
        let file = target.join("doc").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
        docs.insert(name.to_string(), Doc::new(name, json));
    }
    Docs::new(docs)
}

/// Compares `package`'s listing with its committed file, or writes it.
fn check(package: &str) {
    let name = package.replace('-', "_");
    let listing = listing::listing(docs(), &name);
    let relative = format!("crates/{package}/public-api.txt");
    let file = workspace_root().join(&relative);
    let header = format!(
        "# The public API of {package}, one item a line (crates/amp/tests/public_api.rs).\n\
         # Regenerate: {BLESS}=1 cargo test -p amp --test public_api\n"
    );
    let new = format!("{header}{}", listing.join("\n") + "\n");
    if std::env::var_os(BLESS).is_some() {
        std::fs::write(&file, &new).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        return;
    }
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    if old == new {
        return;
    }
    let old_lines: BTreeSet<&str> = old.lines().collect();
    let new_lines: BTreeSet<&str> = new.lines().collect();
    let mut diff = String::new();
    for line in old.lines().filter(|l| !new_lines.contains(l)) {
        diff.push_str(&format!("- {line}\n"));
    }
    for line in new.lines().filter(|l| !old_lines.contains(l)) {
        diff.push_str(&format!("+ {line}\n"));
    }
    if diff.is_empty() {
        diff.push_str("(same lines, different order or repetition)\n");
    }
    panic!(
        "the public API of {package} differs from {relative}:\n{diff}\
         If the change is intended, run with {BLESS}=1 to accept it:\n  \
         {BLESS}=1 cargo test -p amp --test public_api\n\
         (Read from rustdoc JSON format {}: a new Rust release may render some \
         lines differently without an API change; accept those too.)",
        docs().format_version(&name)
    );
}
