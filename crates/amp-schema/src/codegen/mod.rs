//! Code generated from a schema: a Rust module of typed commands
//! ([`rust`]) and a Python module of Twisted `Command` classes
//! ([`python`]), from the command line (`amp schema gen`) or, for Rust,
//! from a build script ([`rust::Builder`]).

pub mod python;
pub mod rust;

use std::fmt;

/// Why code cannot be generated from a schema.
///
/// ```
/// use amp_schema::codegen::rust::{generate, Builder, Options};
/// use amp_schema::{Format, Schema};
/// use std::error::Error;
///
/// // A file that cannot be read: the I/O error is the source.
/// let err = Builder::new().generate("no/such/schema.json").unwrap_err();
/// assert!(err.to_string().starts_with("cannot read no/such/schema.json"));
/// let io = err.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
///
/// // A schema that breaks the format's rules: no code, the problems listed.
/// let text = r#"{"commands": [{"name": "Sum",
///     "arguments": [{"name": "_ask", "type": "Integer"}]}]}"#;
/// let err = generate(&Schema::parse(text, Format::Json)?, &Options::new()).unwrap_err();
/// assert!(err.to_string().contains("command Sum, argument _ask"));
/// # Ok::<(), amp_schema::ParseError>(())
/// ```
#[derive(Debug)]
pub struct GenError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl GenError {
    /// An error that says `message`.
    pub fn new(message: impl Into<String>) -> GenError {
        GenError {
            message: message.into(),
            source: None,
        }
    }

    /// An error that says `message`, caused by `source`.
    ///
    /// ```
    /// use amp_schema::codegen::GenError;
    /// use std::error::Error;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only");
    /// let err = GenError::with_source("cannot write out/sum.rs", io);
    /// assert_eq!(err.to_string(), "cannot write out/sum.rs");
    /// let cause = err.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(cause.kind(), std::io::ErrorKind::PermissionDenied);
    /// ```
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> GenError {
        GenError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
