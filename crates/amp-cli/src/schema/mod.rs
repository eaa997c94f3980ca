//! Schemas: the commands of a service, as Twisted declares them
//! (`amp.Command` subclasses), in a JSON or TOML file. The format is
//! documented in docs/SCHEMA.md.

pub mod model;

pub use model::{ArgType, CommandSchema, Field, Kind, Schema};

use std::path::{Path, PathBuf};

use crate::cli::Global;
use crate::exit::{CliError, CliResult};

/// The schema the command line names: `--schema FILE` (or `AMP_SCHEMA`),
/// else `.amp.json` or `.amp.toml` in the current directory, else none.
pub fn load(global: &Global) -> CliResult<Option<Schema>> {
    let path = match &global.schema {
        Some(p) => p.clone(),
        None => match [".amp.json", ".amp.toml"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    read(&path).map(Some)
}

/// Reads and checks the schema file at `path` (TOML if its name ends in
/// `.toml`, JSON otherwise).
pub fn read(path: &Path) -> CliResult<Schema> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read the schema {}: {e}", path.display())))?;
    let schema: Schema = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| {
            CliError::usage(format!("{} is not a valid schema: {e}", path.display()))
        })?
    } else {
        serde_json::from_str(&text).map_err(|e| {
            CliError::usage(format!("{} is not a valid schema: {e}", path.display()))
        })?
    };
    Ok(schema)
}
