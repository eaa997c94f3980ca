//! [`ValueError`]: a value that cannot be converted, and where it sits.

use std::error::Error as StdError;
use std::fmt;

/// A value that cannot become wire bytes (or JSON): what is wrong, where
/// (`list[2].name`), and the library error behind it if any.
#[derive(Debug)]
pub struct ValueError {
    /// Path segments, innermost first (so wrapping is a push).
    path: Vec<Segment>,
    reason: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl ValueError {
    /// An error saying `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        ValueError {
            path: Vec::new(),
            reason: reason.into(),
            source: None,
        }
    }

    /// An error saying `reason`, caused by `source`.
    pub fn caused(
        reason: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        ValueError {
            source: Some(Box::new(source)),
            ..ValueError::new(reason)
        }
    }

    /// The same error, inside the argument or field `key`.
    pub fn at(mut self, key: &str) -> Self {
        self.path.push(Segment::Key(key.to_owned()));
        self
    }

    /// The same error, inside element `i` of a list.
    pub fn index(mut self, i: usize) -> Self {
        self.path.push(Segment::Index(i));
        self
    }

    /// Where the error is, as `a.list[2].name` (empty at the top).
    pub fn path(&self) -> String {
        let mut s = String::new();
        for seg in self.path.iter().rev() {
            match seg {
                Segment::Key(k) if s.is_empty() => s.push_str(k),
                Segment::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path();
        if path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "`{path}`: {}", self.reason)
        }
    }
}

impl StdError for ValueError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_outside_in() {
        let e = ValueError::new("bad").at("name").index(2).at("list");
        assert_eq!(e.path(), "list[2].name");
        assert_eq!(e.to_string(), "`list[2].name`: bad");
        assert_eq!(ValueError::new("bad").to_string(), "bad");
    }
}
