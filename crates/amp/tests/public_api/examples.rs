//! Every public type, trait, function and macro of the listed crates shows
//! an example that runs: its documentation has a Rust code block that
//! `cargo test` runs as a doctest. Methods, fields and constants are shown
//! in their type's example or their own; they are not checked here.
//!
//! A code block counts unless it is marked `ignore`, `text`, `compile_fail`
//! or `no_run` (compiled but not run). The few items whose example cannot
//! run in a test (it binds a fixed port, waits for Ctrl-C, or reads the
//! descriptors a parent process passed) are listed in [`NOT_RUN`] with
//! their reason, and still need a `no_run` example.

use crate::model::{only, Docs};

/// Kinds of item that need an example of their own.
const KINDS: &[&str] = &[
    "struct",
    "enum",
    "union",
    "trait",
    "function",
    "type_alias",
    "macro",
    "proc_macro",
];

/// Items whose example is compiled but not run, with why.
pub(crate) const NOT_RUN: &[(&str, &str)] = &[];

/// What a code block's fence says of it.
enum Block {
    /// A doctest that runs.
    Runs,
    /// A doctest compiled only (`no_run`).
    Compiled,
    /// Not a doctest that runs or compiles (`ignore`, `text`,
    /// `compile_fail`, another language).
    Other,
}

/// The public items of `krate` (its own, under their shortest public path)
/// that lack an example: each with what is wrong.
pub(crate) fn missing(docs: &Docs, krate: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for (r, path) in &docs.names[krate].canonical {
        if r.0 != krate {
            continue; // re-exported: checked with the crate defining it
        }
        let item = docs.item(r);
        let (kind, _) = only(&item["inner"]);
        if !KINDS.contains(&kind) {
            continue;
        }
        let blocks = code_blocks(item["docs"].as_str().unwrap_or_default());
        let runs = blocks.iter().any(|b| matches!(b, Block::Runs));
        let compiled = blocks.iter().any(|b| matches!(b, Block::Compiled));
        let excused = NOT_RUN.iter().any(|(p, _)| p == path);
        match (runs, compiled, excused) {
            (true, _, false) | (false, true, true) => {}
            (true, _, true) => missing.push(format!(
                "{path}: has an example that runs; take it out of NOT_RUN"
            )),
            (false, true, false) => missing.push(format!(
                "{path}: its example is `no_run`; make it run (or list it in NOT_RUN with why)"
            )),
            (false, false, _) => missing.push(format!("{path} ({kind}): no example")),
        }
    }
    missing.sort();
    missing
}

/// The code blocks of a Markdown text, by their fences (``` or ~~~).
fn code_blocks(docs: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<&str> = None;
    for line in docs.lines() {
        let line = line.trim_start();
        let fence = ["```", "~~~"].into_iter().find(|f| line.starts_with(f));
        match (open, fence) {
            (None, Some(f)) => {
                open = Some(f);
                blocks.push(kind_of(line.trim_start_matches(f)));
            }
            (Some(o), Some(f)) if o == f && line.trim_start_matches(f).trim().is_empty() => {
                open = None;
            }
            _ => {}
        }
    }
    blocks
}

/// A fence's info string (`rust,no_run`, ``, `text`) as rustdoc reads it.
fn kind_of(info: &str) -> Block {
    let words: Vec<&str> = info
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let rust = words.iter().all(|w| {
        matches!(
            *w,
            "rust"
                | "no_run"
                | "should_panic"
                | "edition2015"
                | "edition2018"
                | "edition2021"
                | "edition2024"
        )
    });
    if !rust
        || words
            .iter()
            .any(|w| matches!(*w, "ignore" | "compile_fail"))
    {
        Block::Other
    } else if words.contains(&"no_run") {
        Block::Compiled
    } else {
        Block::Runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences() {
        let kinds = |docs: &str| -> Vec<&str> {
            code_blocks(docs)
                .iter()
                .map(|b| match b {
                    Block::Runs => "runs",
                    Block::Compiled => "compiled",
                    Block::Other => "other",
                })
                .collect()
        };
        assert_eq!(kinds("a\n```\nx\n```\n"), ["runs"]);
        assert_eq!(kinds("```rust\nx\n```"), ["runs"]);
        assert_eq!(kinds("```no_run\nx\n```"), ["compiled"]);
        assert_eq!(kinds("```rust,ignore\nx\n```"), ["other"]);
        assert_eq!(kinds("```text\n```rust\n```"), ["other"]);
        assert_eq!(kinds("~~~\n```\n~~~\n```\n```"), ["runs", "runs"]);
        assert_eq!(kinds("```compile_fail\nx\n```"), ["other"]);
        assert!(kinds("no code").is_empty());
    }
}
