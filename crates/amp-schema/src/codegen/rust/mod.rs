//! A schema as a Rust module: for each command a struct deriving
//! `amp::Command`, its response record and its error enum, from the
//! command line (`amp schema gen rust FILE`) or from a build script
//! ([`Builder`], as `tonic-build` does for gRPC).
//!
//! What is generated, for each command (docs/SCHEMA.md, "Generating
//! Rust", has the whole table):
//!
//! * `struct Name` deriving `Command`: `Name` is the Python class name in
//!   UpperCamelCase, else the wire name (`getlist` with class `GetList`
//!   is `GetList`; `broken_return` alone is `BrokenReturn`); always
//!   `#[amp(name = "wire")]`; `requires_answer = false` when the schema
//!   says so; the schema's doc as the doc comment.
//! * `struct NameResponse` deriving `Record` (a unit struct when the
//!   answer is empty).
//! * `enum NameError` deriving `AmpError` when the command declares
//!   errors: a variant per code, UpperCamelCase (`ZERO_DIVISION` is
//!   `ZeroDivision`), carrying the description, `fatal` for
//!   `fatalErrors`; otherwise the derive's default, `amp::NoError`.
//! * For an `AmpList` field `items` of `Name`'s arguments, a record
//!   `NameItems` (`NameResponseItems` for the answer's), nested ones named
//!   after their parent.
//! * Fields in snake_case, with `#[amp(name = "...")]` when the wire
//!   name differs; optional fields as `Option`. `Integer` is `i64`
//!   ([`IntegerType::BigInt`] for any size), `String` is `Vec<u8>`,
//!   `Unicode` is `String`, `DateTime` is
//!   `chrono::DateTime<FixedOffset>`, `Raw` a `RawValue` newtype of the
//!   bytes generated once in the module.
//! * Every type derives `Debug`, `Clone` and `PartialEq`, and `Default`
//!   where all its fields have one (`Decimal` and `Descriptor` do not;
//!   `Descriptor`, an owned file descriptor, has neither `Clone` nor
//!   `PartialEq`).
//!
//! The names follow fixed rules (keywords as `r#type`, collisions
//! numbered in schema order); see `names.rs`.
//!
//! ```
//! use amp_schema::codegen::rust::{generate, IntegerType, Options};
//! use amp_schema::{Format, Schema};
//!
//! let schema = Schema::parse(r#"{"commands": [{
//!     "name": "getlist", "class": "GetList",
//!     "arguments": [{"name": "length", "type": "Integer"}],
//!     "response": [{"name": "body", "type": "AmpList",
//!                   "fields": [{"name": "x", "type": "Integer"}]}]
//! }]}"#, Format::Json)?;
//! let code = generate(&schema, &Options::new().integer(IntegerType::BigInt))?;
//! assert!(code.contains("#[amp(name = \"getlist\", response = GetListResponse)]\npub struct GetList {"));
//! assert!(code.contains("pub length: ::num_bigint::BigInt,"));
//! assert!(code.contains("pub body: ::std::vec::Vec<GetListResponseBody>,"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod emit;
mod names;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use super::GenError;
use crate::{Format, Schema};

/// The Rust type generated for `Integer`.
///
/// ```
/// use amp_schema::codegen::rust::{generate, IntegerType, Options};
/// use amp_schema::{Format, Schema};
///
/// let s = Schema::parse(r#"{"commands": [{"name": "N", "arguments": [{"name": "n", "type": "Integer"}]}]}"#, Format::Json)?;
/// assert!(generate(&s, &Options::new())?.contains("pub n: i64,"));
/// let big = Options::new().integer(IntegerType::BigInt);
/// assert!(generate(&s, &big)?.contains("pub n: ::num_bigint::BigInt,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IntegerType {
    /// `i64`: an out-of-range value fails to decode.
    #[default]
    I64,
    /// `num_bigint::BigInt`: any size, as Python's `int` (the crate using
    /// the code depends on `num-bigint`).
    BigInt,
}

/// How Rust code is generated.
///
/// ```
/// use amp_schema::codegen::rust::{IntegerType, Options};
/// let o = Options::new().integer(IntegerType::BigInt).amp_path("crate::amp").source("svc.json");
/// assert_eq!(o.integer_type(), IntegerType::BigInt);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    integer: IntegerType,
    amp_path: String,
    source: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            integer: IntegerType::I64,
            amp_path: "::amp".to_owned(),
            source: None,
        }
    }
}

impl Options {
    /// The defaults: `Integer` as `i64`, the amp crate at `::amp`, no
    /// file named in the header.
    pub fn new() -> Options {
        Options::default()
    }

    /// The Rust type for `Integer`.
    pub fn integer(mut self, ty: IntegerType) -> Options {
        self.integer = ty;
        self
    }

    /// The path of the `amp` crate in the generated code (default
    /// `::amp`): `crate::amp` for a re-export, say. Any other path is also
    /// given to the derives as `#[amp(crate = "...")]`.
    pub fn amp_path(mut self, path: impl Into<String>) -> Options {
        self.amp_path = path.into();
        self
    }

    /// The file named in the generated header (`Generated by amp schema
    /// gen rust from FILE`); the CLI and [`Builder`] give the schema
    /// file's name.
    pub fn source(mut self, file: impl Into<String>) -> Options {
        self.source = Some(file.into());
        self
    }

    /// The Rust type for `Integer` these options choose.
    pub fn integer_type(&self) -> IntegerType {
        self.integer
    }
}

/// The Rust module for `schema`: fails if the schema breaks a rule of the
/// format ([`Schema::problems`]) or the amp path is not a Rust path.
///
/// The text starts with a `//` header, not a `//!` module doc: a file
/// read with `include!` cannot have inner attributes.
///
/// ```
/// use amp_schema::codegen::rust::{generate, Options};
/// use amp_schema::{Format, Schema};
///
/// let schema = Schema::parse(r#"{"commands": [{"name": "Ping", "requiresAnswer": false}]}"#, Format::Json)?;
/// let code = generate(&schema, &Options::new().source("ping.json"))?;
/// assert!(code.starts_with("// Generated by amp schema gen rust from ping.json; do not edit.\n"));
/// assert!(code.contains("#[amp(name = \"Ping\", response = PingResponse, requires_answer = false)]\npub struct Ping;"));
///
/// let bad = Schema::parse(r#"{"commands": [{"name": "Ping", "arguments": [{"name": "_ask", "type": "Integer"}]}]}"#, Format::Json)?;
/// assert!(generate(&bad, &Options::new()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate(schema: &Schema, options: &Options) -> Result<String, GenError> {
    if !is_path(&options.amp_path) {
        return Err(GenError::new(format!(
            "the amp crate's path `{}` is not a Rust path (say `::amp` or `crate::amp`)",
            options.amp_path
        )));
    }
    let problems = schema.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(GenError::new(format!(
            "the schema breaks the format's rules, so no code was generated:\n{}",
            list.join("\n")
        )));
    }
    Ok(emit::module(schema, options))
}

/// `::a::b`, `crate::x`, `amp`: identifiers joined by `::`.
fn is_path(p: &str) -> bool {
    let p = p.strip_prefix("::").unwrap_or(p);
    !p.is_empty()
        && p.split("::").all(|seg| {
            let seg = seg.strip_prefix("r#").unwrap_or(seg);
            seg.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && seg != "_"
        })
}

/// Generates Rust from a schema file in a build script.
///
/// [`Builder::compile`] reads the file (JSON, or TOML if its name ends in
/// `.toml`), checks it, writes `$OUT_DIR/<file stem>.rs` and prints
/// `cargo:rerun-if-changed=<file>`; the crate includes the result with
/// `include!(concat!(env!("OUT_DIR"), "/<file stem>.rs"))`. The text is
/// exactly what `amp schema gen rust FILE` prints with the same options.
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     amp_schema::codegen::rust::Builder::new().compile("schemas/service.json")?;
///     Ok(())
/// }
/// // src/lib.rs:
/// // pub mod service { include!(concat!(env!("OUT_DIR"), "/service.rs")); }
/// ```
///
/// Without a build script, [`Builder::generate`] gives the text:
///
/// ```
/// # let dir = tempfile_dir();
/// # let path = dir.join("sum.json");
/// # std::fs::write(&path, r#"{"commands": [{"name": "Sum"}]}"#).unwrap();
/// let code = amp_schema::codegen::rust::Builder::new().generate(&path)?;
/// assert!(code.starts_with("// Generated by amp schema gen rust from sum.json; do not edit.\n"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # fn tempfile_dir() -> std::path::PathBuf {
/// #     let d = std::env::temp_dir().join(format!("amp-schema-doc-{}", std::process::id()));
/// #     std::fs::create_dir_all(&d).unwrap();
/// #     d
/// # }
/// # Ok::<(), amp_schema::codegen::GenError>(())
/// ```
///
/// Every setting, in a test or tool writing into a directory of its own:
///
/// ```
/// use amp_schema::codegen::rust::{Builder, IntegerType};
///
/// # let dir = std::env::temp_dir().join(format!("amp-schema-compile-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let schema = dir.join("sum.json");
/// std::fs::write(&schema, r#"{"commands": [{"name": "Sum",
///     "arguments": [{"name": "a", "type": "Integer"}]}]}"#).unwrap();
/// let out = Builder::new()
///     .integer(IntegerType::BigInt)
///     .amp_path("crate::amp")
///     .out_dir(&dir)
///     .emit_rerun_if_changed(false) // not in a build script
///     .compile(&schema)?;
/// assert_eq!(out, dir.join("sum.rs"));
/// let code = std::fs::read_to_string(&out).unwrap();
/// assert!(code.contains("BigInt") && code.contains(r#"crate = "crate::amp""#));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), amp_schema::codegen::GenError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    options: Options,
    out_dir: Option<PathBuf>,
    rerun: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the default [`Options`], writing to `$OUT_DIR` and
    /// printing `cargo:rerun-if-changed`.
    pub fn new() -> Builder {
        Builder {
            options: Options::new(),
            out_dir: None,
            rerun: true,
        }
    }

    /// The Rust type for `Integer` ([`Options::integer`]).
    pub fn integer(mut self, ty: IntegerType) -> Builder {
        self.options = self.options.integer(ty);
        self
    }

    /// The path of the `amp` crate ([`Options::amp_path`]).
    pub fn amp_path(mut self, path: impl Into<String>) -> Builder {
        self.options = self.options.amp_path(path);
        self
    }

    /// Write into `dir` instead of `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether [`Builder::compile`] prints `cargo:rerun-if-changed=FILE`
    /// (default yes; only Cargo reads it).
    pub fn emit_rerun_if_changed(mut self, yes: bool) -> Builder {
        self.rerun = yes;
        self
    }

    /// The Rust text for the schema file at `path`, the header naming the
    /// file's name.
    pub fn generate(&self, path: impl AsRef<Path>) -> Result<String, GenError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| GenError::with_source(format!("cannot read {}", path.display()), e))?;
        let schema = Schema::parse(&text, Format::of(path))
            .map_err(|e| GenError::with_source(format!("{} is not a schema", path.display()), e))?;
        let mut options = self.options.clone();
        if let Some(name) = path.file_name() {
            options = options.source(name.to_string_lossy());
        }
        generate(&schema, &options).map_err(|e| GenError::new(format!("{}: {e}", path.display())))
    }

    /// Generates the Rust for the schema file at `path` into
    /// `<out dir>/<file stem>.rs` and returns that path.
    pub fn compile(&self, path: impl AsRef<Path>) -> Result<PathBuf, GenError> {
        let path = path.as_ref();
        if self.rerun {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        let code = self.generate(path)?;
        let dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    GenError::new(
                        "OUT_DIR is not set: call compile from a build script, or set out_dir",
                    )
                })?,
        };
        let stem = path
            .file_stem()
            .ok_or_else(|| GenError::new(format!("{} names no file", path.display())))?;
        let out = dir.join(format!("{}.rs", stem.to_string_lossy()));
        std::fs::write(&out, code)
            .map_err(|e| GenError::with_source(format!("cannot write {}", out.display()), e))?;
        Ok(out)
    }
}
