//! Code generated from a schema: a Rust module of typed commands
//! ([`rust`]) and a Python module of Twisted `Command` classes
//! ([`python`]), from the command line (`amp schema gen`) or, for Rust,
//! from a build script ([`rust::Builder`]).

pub mod python;
pub mod rust;

use std::fmt;

/// Why code cannot be generated from a schema.
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
