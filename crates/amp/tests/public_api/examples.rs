//! Every public type, trait, function and macro of the listed crates shows
//! an example that runs: its documentation has a Rust code block that
//! `cargo test` runs as a doctest.
//!
//! Every public method of a type (its inherent impls) is shown too: in a
//! doctest of its own, or called (`.name(`, `::name(`, `::name::<`) in a
//! doctest of its type. Fields and constants are not checked.
//!
//! A code block counts unless it is marked `ignore`, `text`, `compile_fail`
//! or `no_run` (compiled but not run). The few items whose example cannot
//! run in a test (it binds a fixed port, waits for Ctrl-C, or reads the
//! descriptors a parent process passed) are listed in [`NOT_RUN`] with
//! their reason, and still need a `no_run` example.

use crate::model::{array, id_of, only, str_of, Docs};

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
    code(docs).into_iter().map(|(b, _)| b).collect()
}

/// The code blocks of a Markdown text with their text.
fn code(docs: &str) -> Vec<(Block, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<&str> = None;
    for line in docs.lines() {
        let trimmed = line.trim_start();
        let fence = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f));
        match (open, fence) {
            (None, Some(f)) => {
                open = Some(f);
                blocks.push((kind_of(trimmed.trim_start_matches(f)), String::new()));
            }
            (Some(o), Some(f)) if o == f && trimmed.trim_start_matches(f).trim().is_empty() => {
                open = None;
            }
            (Some(_), _) => {
                if let Some((_, text)) = blocks.last_mut() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The text of the doctests of `docs` that run.
fn running_code(docs: &str) -> String {
    code(docs)
        .into_iter()
        .filter(|(b, _)| matches!(b, Block::Runs))
        .map(|(_, text)| text)
        .collect()
}

/// Whether `code` calls a function or method `name`.
fn calls(code: &str, name: &str) -> bool {
    [".", "::"].iter().any(|sep| {
        let at = format!("{sep}{name}");
        code.match_indices(&at).any(|(i, _)| {
            let rest = code[i + at.len()..].trim_start();
            rest.starts_with('(') || rest.starts_with("::<")
        })
    })
}

/// The public methods of `krate`'s own public types that no doctest that
/// runs shows (their own, or their type's), as `path::Type::method`.
pub(crate) fn methods_missing(docs: &Docs, krate: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for (r, path) in &docs.names[krate].canonical {
        if r.0 != krate {
            continue;
        }
        let item = docs.item(r);
        let (kind, body) = only(&item["inner"]);
        if !matches!(kind, "struct" | "enum" | "union") {
            continue;
        }
        let shown = running_code(item["docs"].as_str().unwrap_or_default());
        for i in array(&body["impls"]) {
            let Some(imp) = docs.doc(&r.0).item(&id_of(i)) else {
                continue;
            };
            let imp = &imp["inner"]["impl"];
            if !imp["trait"].is_null() || !imp["blanket_impl"].is_null() {
                continue;
            }
            for m in array(&imp["items"]) {
                let Some(method) = docs.doc(&r.0).item(&id_of(m)) else {
                    continue;
                };
                if method["visibility"] != "public" || only(&method["inner"]).0 != "function" {
                    continue;
                }
                let name = str_of(&method["name"]);
                let own = code_blocks(method["docs"].as_str().unwrap_or_default());
                if own.iter().any(|b| matches!(b, Block::Runs)) || calls(&shown, &name) {
                    continue;
                }
                missing.push(format!("{path}::{name}"));
            }
        }
    }
    missing.sort();
    missing.dedup();
    missing
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

    #[test]
    fn calls_seen() {
        let code = running_code("```\nlet c = Connection::spawn(a, r);\nc.call (x);\nm::f::<u8>();\n```\n```no_run\nc.close();\n```");
        assert!(calls(&code, "spawn") && calls(&code, "call") && calls(&code, "f"));
        assert!(!calls(&code, "close"), "no_run blocks do not count");
        assert!(!calls(&code, "cal") && !calls(&code, "Connection"));
    }
}
