//! How `amp` fails: an error with its causes and the exit code it maps to.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (an answer, a clean shutdown) |
//! | 1 | the peer answered with an AMP error |
//! | 2 | usage: bad arguments, a bad schema, an unreadable file |
//! | 3 | connection, TLS, protocol or timeout failure |

use std::error::Error as StdError;
use std::fmt;

/// The exit codes `amp` uses (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The peer answered with an AMP error.
    Remote = 1,
    /// Bad arguments, schema or input.
    Usage = 2,
    /// Connection, TLS, protocol or timeout failure.
    Connection = 3,
}

/// A failure of a subcommand: what to print and which code to exit with.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// What happened (its `source()` chain is printed too).
    pub error: Box<dyn StdError + Send + Sync>,
    /// Already reported (say as JSON on stdout): print nothing more.
    pub reported: bool,
}

impl CliError {
    /// A failure with `exit` as its code.
    pub fn new(exit: Exit, error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        CliError {
            exit,
            error: error.into(),
            reported: false,
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::new(Exit::Usage, error)
    }

    /// A connection, TLS or timeout error (exit code 3).
    pub fn connection(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::new(Exit::Connection, error)
    }

    /// Marks the error as already reported to the user.
    pub fn reported(mut self) -> Self {
        self.reported = true;
        self
    }
}

impl fmt::Display for CliError {
    /// The error and each of its causes, `: `-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        let mut cause = self.error.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// What subcommands return.
pub type CliResult<T = ()> = Result<T, CliError>;

/// An error with what we were doing: `what` is printed, then the cause
/// (its `source()`).
#[derive(Debug)]
pub struct Cause(pub String, pub Box<dyn StdError + Send + Sync>);

impl Cause {
    /// `what` failed because of `cause`.
    pub fn new(what: impl Into<String>, cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Cause(what.into(), cause.into())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.1)
    }
}
