//! Schemas for AMP (Twisted's Asynchronous Messaging Protocol): the
//! commands a service understands, as Twisted declares them with
//! `twisted.protocols.amp.Command` subclasses, in a JSON or TOML file.
//!
//! For each command a schema gives its wire name, its arguments and their
//! AMP types, its response, its error codes (plain and fatal), whether it
//! is answered, and what it does to the connection (a protocol switch,
//! StartTLS). The file format, its rules and examples are documented in
//! `docs/SCHEMA.md` at the root of the amp-rs repository; this crate is its
//! implementation, shared by the `amp` command line and the rest of
//! amp-rs.
//!
//! - [`Schema`], [`CommandSchema`], [`Field`], [`ArgType`] and [`Kind`]
//!   are the model.
//! - [`Schema::parse`] reads JSON or TOML text, with errors that name the
//!   command and field at fault ([`ParseError`]); [`Schema::to_text`]
//!   writes a schema back ([`Format`] says which).
//! - [`Schema::problems`] checks the rules a well-formed schema must also
//!   follow (unique names, AMP's reserved keys, nesting, ...), each broken
//!   rule a [`Problem`].
//! - [`Schema::command`] and [`Schema::find`] look a command up by name,
//!   [`Schema::close_matches`] suggests names for one that is not there.
//! - [`codegen`] writes a schema as Rust (typed `amp` commands, also from a
//!   build script: [`codegen::rust::Builder`]) or as Python (Twisted
//!   `Command` classes).
//! - `From<&CommandDescription>` makes a schema command of what a Rust
//!   `#[derive(Command)]` type says of itself.
//!
//! ```
//! use amp_schema::{ArgType, Format, Schema};
//!
//! let text = r#"{"commands": [{
//!     "name": "Sum",
//!     "arguments": [{"name": "a", "type": "Integer"}, {"name": "b", "type": "Integer"}],
//!     "response": [{"name": "total", "type": "Integer"}],
//!     "errors": {"ZERO_DIVISION": "ZeroDivisionError"}
//! }]}"#;
//! let schema = Schema::parse(text, Format::Json)?;
//! assert!(schema.problems().is_empty());
//!
//! let sum = schema.find("Sum").expect("Sum is declared");
//! assert_eq!(sum.arguments[1].ty, ArgType::Integer);
//! assert!(sum.requires_answer);
//! assert_eq!(schema.close_matches("sum"), ["Sum"]);
//!
//! // Well-formed, but it breaks a rule: `_ask` is one of AMP's own keys.
//! let text = r#"{"commands": [{"name": "Bad", "arguments": [{"name": "_ask", "type": "Integer"}]}]}"#;
//! let problems = Schema::parse(text, Format::Json)?.problems();
//! assert!(problems[0].to_string().starts_with("command Bad, argument _ask: `_ask` is one of AMP's own keys"));
//!
//! // Not even well-formed: the error says where.
//! let text = r#"{"commands": [{"name": "Sum", "argumets": []}]}"#;
//! let err = Schema::parse(text, Format::Json).unwrap_err();
//! assert!(err.to_string().starts_with("command Sum: unknown field `argumets`"));
//! # Ok::<(), amp_schema::ParseError>(())
//! ```

#![deny(missing_docs)]

pub mod codegen;
mod format;
mod from_rust;
mod lookup;
mod model;
mod parse;
mod raw;
mod validate;
mod write;

pub use format::Format;
pub use model::{ArgType, CommandSchema, Field, Kind, Schema};
pub use parse::ParseError;
pub use validate::{Problem, MAX_PROBLEMS, RESERVED_KEYS};
pub use write::WriteError;
