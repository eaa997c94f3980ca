//! `amp schema import`: ask Python to describe a module's
//! `twisted.protocols.amp.Command` subclasses, then keep what passes the
//! schema's rules.
//!
//! The script runs as `PYTHON -c SCRIPT MODULE[:NAME,...]` in the current
//! directory (so a module there can be imported) and answers with one JSON
//! object on its standard output; anything the module prints goes to its
//! standard error.
//! Its output is bounded ([`MAX_SCHEMA_BYTES`] on stdout,
//! [`STDERR_KEPT`] of stderr kept) and so is its time (`timeout`; it is
//! killed after).
//!
//! The script is built into the binary from two files: the Command walker
//! `walker.py`, followed by the driver `import.py` (module loading, picking
//! classes, the answer). The walker is the pip-installable `amp_reflect`
//! module's own `schema.py` (so a Twisted server describing itself over
//! `amp.describe` and `amp schema import` describe a class alike): in the
//! repository `walker.py` is a symbolic link to
//! `python/amp_reflect/amp_reflect/schema.py`, the one copy, and
//! `cargo package` stores the file it points to, so the published crate
//! builds on its own.

use serde::Deserialize;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{Format, Schema, MAX_SCHEMA_BYTES};

/// The script Python runs: the shared walker, then the driver that uses it.
const SCRIPT: &str = concat!(include_str!("walker.py"), include_str!("import.py"));

/// How long Python may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of Python's standard error is kept for messages (its end).
pub const STDERR_KEPT: usize = 16 << 10;

/// What an import gives: the schema, and what could not be carried over
/// exactly (Raw types, skipped commands).
#[derive(Debug)]
pub struct Imported {
    /// The commands, checked.
    pub schema: Schema,
    /// One line each, to show the user.
    pub warnings: Vec<String>,
}

/// Why an import failed.
#[derive(Debug)]
pub enum ImportError {
    /// Python could not be started.
    Spawn(OsString, std::io::Error),
    /// Reading from Python failed.
    Io(std::io::Error),
    /// Python ran longer than allowed.
    Timeout(OsString, Duration),
    /// Python printed more than [`MAX_SCHEMA_BYTES`].
    TooBig(OsString),
    /// Python ended without the script's answer.
    Crashed(OsString, String, String),
    /// The script said why it could not import.
    Refused(String, String),
    /// The script's schema broke the rules and nothing was left.
    Unusable(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Spawn(py, _) => write!(
                f,
                "cannot run {}: give the Python that has Twisted with --python PATH \
                 (or AMP_PYTHON)",
                py.to_string_lossy()
            ),
            ImportError::Io(_) => write!(f, "cannot read what Python printed"),
            ImportError::Timeout(py, t) => write!(
                f,
                "{} did not finish within {} s (does the module start something when \
                 imported?); allow more with --timeout SECS",
                py.to_string_lossy(),
                t.as_secs()
            ),
            ImportError::TooBig(py) => write!(
                f,
                "{} printed more than {} MiB: not a schema amp will read",
                py.to_string_lossy(),
                MAX_SCHEMA_BYTES >> 20
            ),
            ImportError::Crashed(py, status, stderr) => write!(
                f,
                "{} ended ({status}) without describing the module: is it Python 3? \
                 It said:\n{stderr}",
                py.to_string_lossy()
            ),
            ImportError::Refused(error, hint) if hint.is_empty() => write!(f, "{error}"),
            ImportError::Refused(error, hint) => write!(f, "{error}\nhint: {hint}"),
            ImportError::Unusable(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImportError::Spawn(_, e) | ImportError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The script's answer.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    schema: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    hint: Option<String>,
}

/// Describes the commands of `spec` (`MODULE` or `MODULE:NAME,...`) with
/// `python`, giving up after `timeout`.
pub async fn import(
    python: &OsStr,
    spec: &str,
    timeout: Duration,
) -> Result<Imported, ImportError> {
    let mut child = tokio::process::Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(spec)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ImportError::Spawn(python.to_owned(), e))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ImportError::Io(std::io::Error::other("no pipe to Python")));
    };
    let run = async {
        let (out, err) = tokio::join!(read_bounded(stdout), read_tail(stderr));
        let out = out.map_err(ImportError::Io)?;
        if out.len() as u64 > MAX_SCHEMA_BYTES {
            return Err(ImportError::TooBig(python.to_owned()));
        }
        let status = child.wait().await.map_err(ImportError::Io)?;
        Ok((out, err, status))
    };
    // On timeout, `run` and then `child` are dropped: Python is killed.
    let (out, err, status) = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| ImportError::Timeout(python.to_owned(), timeout))??;
    if !err.trim().is_empty() {
        tracing::info!("{} said:\n{}", python.to_string_lossy(), err.trim_end());
    }
    let answer: Answer = match serde_json::from_slice(&out) {
        Ok(a) if status.success() => a,
        _ => {
            let said = if err.trim().is_empty() {
                "(nothing)"
            } else {
                err.trim_end()
            };
            return Err(ImportError::Crashed(
                python.to_owned(),
                status.to_string(),
                said.to_owned(),
            ));
        }
    };
    if let Some(error) = answer.error {
        return Err(ImportError::Refused(error, answer.hint.unwrap_or_default()));
    }
    let Some(value) = answer.schema else {
        return Err(ImportError::Unusable(
            "the import script gave no schema".to_owned(),
        ));
    };
    keep_valid(&value.to_string(), answer.warnings)
}

/// The schema in `text` without the commands that break the rules (each
/// named in a warning).
fn keep_valid(text: &str, mut warnings: Vec<String>) -> Result<Imported, ImportError> {
    let mut schema = Schema::parse(text, Format::Json).map_err(|e| {
        ImportError::Unusable(format!("the import gave a schema amp cannot read: {e}"))
    })?;
    let source = schema.source.clone().unwrap_or_default();
    let mut kept = Vec::with_capacity(schema.commands.len());
    for (i, c) in std::mem::take(&mut schema.commands).into_iter().enumerate() {
        match c.problems(i).first() {
            None => kept.push(c),
            Some(p) => {
                let who = match (&c.class, c.name.as_str()) {
                    (Some(class), _) => class.as_str(),
                    (None, "") => "a command",
                    (None, name) => name,
                };
                warnings.push(format!("skipped {who}: {p}"));
            }
        }
    }
    schema.commands = kept;
    if schema.commands.is_empty() {
        return Err(ImportError::Unusable(format!(
            "no command of {source} follows the schema's rules:\n  {}",
            warnings.join("\n  ")
        )));
    }
    if let Some(p) = schema.problems().first() {
        return Err(ImportError::Unusable(format!(
            "the imported schema is not valid: {p}"
        )));
    }
    Ok(Imported { schema, warnings })
}

/// Everything `r` gives, up to one byte over [`MAX_SCHEMA_BYTES`].
async fn read_bounded(r: impl AsyncRead + Unpin) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(MAX_SCHEMA_BYTES + 1).read_to_end(&mut buf).await?;
    Ok(buf)
}

/// The last [`STDERR_KEPT`] bytes of `r`, as text (read to its end).
async fn read_tail(mut r: impl AsyncRead + Unpin) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > STDERR_KEPT {
                    kept.drain(..kept.len() - STDERR_KEPT);
                }
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_that_break_the_rules_are_skipped_with_a_warning() {
        let text = r#"{"source": "m", "commands": [
            {"name": "Good", "arguments": [{"name": "a", "type": "Integer"}]},
            {"name": "Bad", "class": "BadCmd", "arguments": [{"name": "_ask", "type": "Integer"}]}]}"#;
        let got = keep_valid(text, vec!["w".into()]).unwrap();
        assert_eq!(got.schema.commands.len(), 1);
        assert_eq!(got.schema.commands[0].name, "Good");
        assert_eq!(got.warnings[0], "w");
        assert!(
            got.warnings[1].starts_with(
                "skipped BadCmd: command Bad, argument _ask: `_ask` is one of AMP's own keys"
            ),
            "{:?}",
            got.warnings
        );
        let none = r#"{"source": "m", "commands": [{"name": "", "arguments": []}]}"#;
        let err = keep_valid(none, vec![]).unwrap_err().to_string();
        assert!(err.starts_with("no command of m follows the schema's rules:\n  skipped a command: command #1: the name is empty"), "{err}");
    }
}
