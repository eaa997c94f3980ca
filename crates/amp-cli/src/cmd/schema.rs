//! `amp schema import` (a schema from Twisted code) and `amp schema check`
//! (is this file a good schema?).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Global;
use crate::exit::{CliError, CliResult};
use crate::schema::{self, import, Format, Schema};

/// `amp schema`.
#[derive(clap::Subcommand, Debug)]
#[command(after_help = "Examples:
  amp schema import myproject.commands -o .amp.json
  amp schema fetch 127.0.0.1:1234 -o .amp.json
  amp schema check .amp.json
  amp schema gen rust .amp.json -o src/commands.rs

The file format, and how amp finds a schema: docs/SCHEMA.md.")]
pub enum SchemaCommand {
    /// Describe a Python module's amp.Command subclasses as a schema.
    Import(ImportArgs),
    /// Check a schema file: prints `ok: N commands`, or every problem.
    Check(CheckArgs),
    /// Generate code from a schema: a Rust module or a Python module.
    Gen(GenArgs),
    /// Ask a server that describes itself for its schema.
    Fetch(FetchArgs),
}

impl SchemaCommand {
    /// Whether it works on files only (no socket).
    pub fn is_offline(&self) -> bool {
        !matches!(self, SchemaCommand::Fetch(_))
    }
}

/// `amp schema fetch`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp schema fetch 127.0.0.1:1234 -o .amp.json
  amp schema fetch unix:/run/app.sock -o app.toml
  amp schema fetch 127.0.0.1:1234 | jq '.commands[].name'

The server must describe itself (an amp-rs router with describe_itself,
`amp serve`, or a Twisted server using the amp_reflect module). Exit 1 if it
does not, 3 if it cannot be reached or its answer is no schema.")]
pub struct FetchArgs {
    /// The server: host:port or unix:/path.
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// Write the schema to FILE (TOML if it ends in .toml, else JSON)
    /// instead of printing it as JSON.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub remote: schema::remote::Remote,
}

/// `amp schema import`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp schema import twisted.test.test_amp -o .amp.json
  amp schema import ampoule.commands:Echo,Shutdown
  amp schema import myproject.commands --python .venv/bin/python -o amp.toml

The module is imported by Python run in the current directory (a module
there is found), so it must import cleanly; commands whose argument classes
amp does not know keep their bytes as Raw (a warning names each). Exit 2 if
Python cannot import the module or it has no commands. See docs/SCHEMA.md.")]
pub struct ImportArgs {
    /// The module, and optionally which commands of it (class or wire
    /// names, comma-separated); default: every amp.Command subclass the
    /// module defines or imports.
    #[arg(value_name = "MODULE[:NAME,...]")]
    pub spec: String,
    /// The Python to run: one with Twisted and the module's dependencies
    /// (an empty AMP_PYTHON counts as unset).
    #[arg(long, env = "AMP_PYTHON", default_value = DEFAULT_PYTHON, value_name = "PY")]
    pub python: OsString,
    /// Write the schema to FILE (TOML if it ends in .toml, else JSON)
    /// instead of printing it as JSON.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Seconds Python may take; it is killed after.
    #[arg(long, value_name = "SECS", default_value_t = import::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// The Python run when neither --python nor AMP_PYTHON names one.
const DEFAULT_PYTHON: &str = "python3";

/// `amp schema check`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp schema check service.json
  amp schema check            # the schema --schema, AMP_SCHEMA or ./.amp.json names

Exit 0 and `ok: N commands` if the file is a good schema; exit 2 with each
problem (command, field and what is wrong) if not.")]
pub struct CheckArgs {
    /// The schema file; default: the one --schema, AMP_SCHEMA, .amp.json
    /// or .amp.toml gives.
    pub file: Option<PathBuf>,
}

/// `amp schema gen`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp schema gen rust .amp.json -o src/commands.rs
  amp schema gen python .amp.json -o commands.py

Rust: a struct deriving amp::Command per command, its response record and
error enum (see docs/SCHEMA.md); a build script can do the same with
amp_schema::codegen::rust::Builder. Python: Twisted amp.Command classes
with type annotations. Exit 2 if the schema cannot be read or generated.")]
pub struct GenArgs {
    /// The language to write.
    #[arg(value_enum)]
    pub language: Language,
    /// The schema file; default: the one --schema, AMP_SCHEMA, .amp.json
    /// or .amp.toml gives.
    pub file: Option<PathBuf>,
    /// Write the code to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rust only: the Rust type for Integer, i64 (an out-of-range value
    /// fails to decode) or bigint (num_bigint::BigInt, any size).
    #[arg(long, value_enum, value_name = "TYPE", default_value_t = RustInteger::I64)]
    pub integer: RustInteger,
    /// Rust only: the path of the amp crate in the generated code (say
    /// crate::amp for a re-export).
    #[arg(long, value_name = "PATH", default_value = "::amp")]
    pub amp_path: String,
}

/// The Rust type `amp schema gen rust --integer` generates for Integer.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RustInteger {
    /// `i64`.
    I64,
    /// `num_bigint::BigInt`.
    Bigint,
}

/// A language `amp schema gen` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// A Rust module of `#[derive(amp::Command)]` structs.
    Rust,
    /// A Python module of Twisted `amp.Command` classes.
    Python,
}

/// Runs `amp schema`.
pub async fn run(command: SchemaCommand, global: &Global) -> CliResult {
    match command {
        SchemaCommand::Import(args) => import_schema(args).await,
        SchemaCommand::Check(args) => check(args, global),
        SchemaCommand::Gen(args) => generate(args, global),
        SchemaCommand::Fetch(args) => fetch(args).await,
    }
}

async fn import_schema(args: ImportArgs) -> CliResult {
    let timeout = Duration::from_secs(args.timeout);
    let python = if args.python.is_empty() {
        OsString::from(DEFAULT_PYTHON)
    } else {
        args.python
    };
    let imported = import::import(&python, &args.spec, timeout)
        .await
        .map_err(|e| CliError::usage(ImportFailed(args.spec.clone(), e)))?;
    for w in &imported.warnings {
        eprintln!("amp: warning: {w}");
    }
    emit(&imported.schema, args.output.as_deref(), &args.spec)
}

async fn fetch(args: FetchArgs) -> CliResult {
    let schema = schema::remote::fetch(&args.addr, &args.remote).await?;
    emit(&schema, args.output.as_deref(), &args.addr)
}

/// Prints `schema` as JSON, or writes it to `output` (TOML if its name
/// ends in .toml) saying so, naming where it came `from`.
fn emit(schema: &Schema, output: Option<&std::path::Path>, from: &str) -> CliResult {
    let Some(path) = output else {
        print!("{}", to_text(schema, Format::Json)?);
        return Ok(());
    };
    let text = to_text(schema, Format::of(path))?;
    std::fs::write(path, text)
        .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "amp: wrote {} from {from} to {}",
        count(schema.commands.len() + schema.untyped.len()),
        path.display()
    );
    Ok(())
}

/// The schema as pretty JSON or TOML.
fn to_text(schema: &Schema, format: Format) -> CliResult<String> {
    schema.to_text(format).map_err(CliError::usage)
}

fn check(args: CheckArgs, global: &Global) -> CliResult {
    let schema = match args.file {
        Some(file) => schema::read(&file)?,
        None => schema::require(global)?.1,
    };
    println!("ok: {}", count(schema.commands.len()));
    Ok(())
}

fn generate(args: GenArgs, global: &Global) -> CliResult {
    use amp_schema::codegen;
    let (path, schema) = match &args.file {
        Some(file) => (file.clone(), schema::read(file)?),
        None => schema::require(global)?,
    };
    let code = match args.language {
        Language::Rust => {
            let mut options = codegen::rust::Options::new()
                .integer(match args.integer {
                    RustInteger::I64 => codegen::rust::IntegerType::I64,
                    RustInteger::Bigint => codegen::rust::IntegerType::BigInt,
                })
                .amp_path(args.amp_path.as_str());
            // The header names the file as a build script's Builder does.
            if let Some(name) = path.file_name() {
                options = options.source(name.to_string_lossy());
            }
            codegen::rust::generate(&schema, &options)
        }
        Language::Python => {
            codegen::python::generate(&schema, &codegen::python::Options::default())
        }
    }
    .map_err(CliError::usage)?;
    match args.output {
        None => print!("{code}"),
        Some(path) => {
            std::fs::write(&path, code)
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "amp: wrote {} as {:?} to {}",
                count(schema.commands.len()),
                args.language,
                path.display()
            );
        }
    }
    Ok(())
}

/// `1 command`, `3 commands`.
fn count(n: usize) -> String {
    if n == 1 {
        "1 command".to_owned()
    } else {
        format!("{n} commands")
    }
}

/// An import that failed, naming what was imported.
#[derive(Debug)]
struct ImportFailed(String, import::ImportError);

impl std::fmt::Display for ImportFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot import a schema from {}: {}", self.0, self.1)
    }
}

impl std::error::Error for ImportFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.1)
    }
}
