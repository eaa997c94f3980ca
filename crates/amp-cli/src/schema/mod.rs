//! Schemas: the commands of a service, as Twisted declares them
//! (`amp.Command` subclasses), in a JSON or TOML file. The format is
//! documented in docs/SCHEMA.md; the `amp-schema` crate holds its model,
//! reads and writes it, and checks its rules. Here: finding and reading the
//! file the command line names, Python's import, and what `amp` prints.

pub mod display;
pub mod import;
mod not_found;
pub mod remote;

pub use amp_schema::{
    ArgType, CommandSchema, Field, Format, Kind, ParseError, Problem, Schema, RESERVED_KEYS,
};
pub use not_found::not_found;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// The largest schema file `amp` reads (and the most a Python import may
/// print): 64 MiB.
pub const MAX_SCHEMA_BYTES: u64 = 64 << 20;

/// The files looked for in the current directory when no schema is named.
pub const DEFAULT_FILES: [&str; 2] = [".amp.json", ".amp.toml"];

/// Where the command line's schema is: `--schema FILE` (or `AMP_SCHEMA`),
/// else `.amp.json` or `.amp.toml` in the current directory, else none.
pub fn locate(global: &Global) -> Option<PathBuf> {
    match &global.schema {
        Some(p) => Some(p.clone()),
        None => DEFAULT_FILES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file()),
    }
}

/// The schema the command line names (see [`locate`]), read and checked;
/// `None` if it names none.
pub fn load(global: &Global) -> CliResult<Option<Schema>> {
    match locate(global) {
        Some(path) => read(&path).map(Some),
        None => Ok(None),
    }
}

/// Like [`load`], for subcommands that cannot work without a schema: its
/// path and the schema, or a usage error saying how to give one.
pub fn require(global: &Global) -> CliResult<(PathBuf, Schema)> {
    match locate(global) {
        Some(path) => read(&path).map(|s| (path, s)),
        None => Err(CliError::usage(
            "no schema: give one with --schema FILE (or AMP_SCHEMA=FILE), or put .amp.json \
             or .amp.toml in this directory; make one from Twisted code with \
             `amp schema import MODULE -o .amp.json` (see docs/SCHEMA.md)",
        )),
    }
}

/// Reads and checks the schema file at `path` (TOML if its name ends in
/// `.toml`, JSON otherwise): at most [`MAX_SCHEMA_BYTES`], well-formed,
/// and following every rule of the format ([`Schema::problems`]).
pub fn read(path: &Path) -> CliResult<Schema> {
    let fail = |why: Why| {
        CliError::usage(SchemaFileError {
            path: path.to_owned(),
            why,
        })
    };
    let file = std::fs::File::open(path).map_err(|e| fail(Why::Io(e)))?;
    let mut text = String::new();
    file.take(MAX_SCHEMA_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(Why::Io(e)))?;
    if text.len() as u64 > MAX_SCHEMA_BYTES {
        return Err(fail(Why::TooBig));
    }
    let schema = Schema::parse(&text, Format::of(path)).map_err(|e| fail(Why::Syntax(e)))?;
    let problems = schema.problems();
    if !problems.is_empty() {
        return Err(fail(Why::Invalid(problems)));
    }
    Ok(schema)
}

/// A schema file that cannot be used, and why.
#[derive(Debug)]
pub struct SchemaFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub why: Why,
}

/// Why a schema file cannot be used.
#[derive(Debug)]
pub enum Why {
    /// It cannot be read.
    Io(std::io::Error),
    /// It is over [`MAX_SCHEMA_BYTES`].
    TooBig,
    /// It is not well-formed JSON/TOML, or not in the schema's shape.
    Syntax(ParseError),
    /// It breaks the schema's rules.
    Invalid(Vec<Problem>),
}

impl fmt::Display for SchemaFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.path.display();
        match &self.why {
            Why::Io(_) => write!(f, "cannot read the schema {file}"),
            Why::TooBig => write!(
                f,
                "the schema {file} is over {} MiB: is it the right file?",
                MAX_SCHEMA_BYTES >> 20
            ),
            Why::Syntax(m) => write!(f, "{file} is not a valid schema: {m}"),
            Why::Invalid(problems) if problems.len() == 1 => {
                write!(f, "{file} is not a valid schema: {}", problems[0])
            }
            Why::Invalid(problems) => {
                write!(f, "{file} is not a valid schema")?;
                if problems.len() >= amp_schema::MAX_PROBLEMS {
                    write!(f, " (the first {} problems)", problems.len())?;
                }
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SchemaFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.why {
            Why::Io(e) => Some(e),
            _ => None,
        }
    }
}
