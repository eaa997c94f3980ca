//! The workspace's examples, built for tests that run them.

use std::path::PathBuf;

/// Build `examples/<name>.rs` with the profile this test was built with
/// (nested `cargo build`: cargo releases its lock before running tests),
/// and return the binary's path.
pub fn example_binary(name: &str) -> PathBuf {
    // The test runs as <target>/<profile>/deps/<test>-<hash>; the example
    // lands in <target>/<profile>/examples/.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable under <target>/<profile>/deps");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(p) => p,
    };
    let target_dir = profile_dir.parent().expect("target dir");
    let manifest = super::workspace().join("Cargo.toml");
    let mut cargo = std::process::Command::new(env!("CARGO"));
    // Cargo gave this test variables describing the `amp` crate; passed on,
    // they would make build scripts that watch them (ring's) rerun, and
    // the next `cargo test` rebuild again.
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(describes_this_crate) {
            cargo.env_remove(var);
        }
    }
    let status = cargo
        .args([
            "build",
            "--quiet",
            "--locked",
            "-p",
            "amp",
            "--example",
            name,
        ])
        .arg("--profile")
        .arg(profile)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --example {name} failed: {status}"
    );
    let exe = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.is_file(),
        "built example not found at {}",
        exe.display()
    );
    exe
}

/// Whether `name` is one of the variables cargo sets for a crate it builds
/// or runs (not the user's cargo configuration).
fn describes_this_crate(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || matches!(
            name,
            "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "CARGO_RUSTC_CURRENT_DIR" | "OUT_DIR"
        )
}
