//! The two formats a schema file is written in.

use std::path::Path;

/// A schema file's format.
///
/// ```
/// use amp_schema::{Format, Schema};
/// use std::path::Path;
///
/// let format = Format::of(Path::new("service.toml"));
/// assert_eq!(format, Format::Toml);
/// assert_eq!(Format::of(Path::new("service.json")), Format::Json);
///
/// // The same schema in either format.
/// let schema = Schema::parse("[[commands]]\nname = \"Ping\"\n", format)?;
/// let json = schema.to_text(Format::Json)?;
/// assert_eq!(Schema::parse(&json, Format::Json)?, schema);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (any name not ending in `.toml`).
    Json,
    /// TOML (a name ending in `.toml`).
    Toml,
}

impl Format {
    /// The format of the file at `path`: TOML if its name ends in `.toml`
    /// (any case), JSON otherwise.
    pub fn of(path: &Path) -> Format {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        {
            Format::Toml
        } else {
            Format::Json
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_by_name_json_otherwise() {
        assert_eq!(Format::of(Path::new("a.toml")), Format::Toml);
        assert_eq!(Format::of(Path::new("dir/.amp.TOML")), Format::Toml);
        assert_eq!(Format::of(Path::new(".amp.json")), Format::Json);
        assert_eq!(Format::of(Path::new("schema")), Format::Json);
        assert_eq!(Format::of(Path::new("toml")), Format::Json);
    }
}
