//! Finding a command by name, and the names closest to one that is not
//! there.

use crate::model::{CommandSchema, Schema};

/// How many close matches [`Schema::close_matches`] gives at most.
pub(crate) const MAX_SUGGESTIONS: usize = 5;

impl Schema {
    /// The command named `name` on the wire.
    pub fn command(&self, name: &str) -> Option<&CommandSchema> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// The command `name` stands for: its wire name, else the one command
    /// whose Python class is `name`.
    ///
    /// ```
    /// use amp_schema::{Format, Schema};
    /// let text = r#"{"commands": [{"name": "Sum", "class": "AddNumbers"}]}"#;
    /// let schema = Schema::parse(text, Format::Json)?;
    /// assert_eq!(schema.find("Sum").map(|c| c.name.as_str()), Some("Sum"));
    /// assert_eq!(schema.find("AddNumbers").map(|c| c.name.as_str()), Some("Sum"));
    /// assert!(schema.find("Divide").is_none());
    /// # Ok::<(), amp_schema::ParseError>(())
    /// ```
    pub fn find(&self, name: &str) -> Option<&CommandSchema> {
        self.command(name).or_else(|| {
            let mut by_class = self
                .commands
                .iter()
                .filter(|c| c.class.as_deref() == Some(name));
            match (by_class.next(), by_class.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        })
    }

    /// The wire names closest to `name` (case aside, a typo or two away,
    /// or one starting with the other), best first, at most five.
    ///
    /// ```
    /// use amp_schema::{Format, Schema};
    /// let text = r#"{"commands": [{"name": "Sum"}, {"name": "Divide"}, {"name": "Echo"}]}"#;
    /// let schema = Schema::parse(text, Format::Json)?;
    /// assert_eq!(schema.close_matches("divid"), ["Divide"]); // a prefix
    /// assert_eq!(schema.close_matches("Dvide"), ["Divide"]); // a typo
    /// assert!(schema.close_matches("Frobnicate").is_empty());
    /// # Ok::<(), amp_schema::ParseError>(())
    /// ```
    pub fn close_matches(&self, name: &str) -> Vec<&str> {
        let wanted = name.to_lowercase();
        let mut scored: Vec<(f64, &str)> = self
            .commands
            .iter()
            .filter_map(|c| {
                let have = c.name.to_lowercase();
                let score = if have == wanted {
                    2.0
                } else if !wanted.is_empty()
                    && (have.starts_with(&wanted) || wanted.starts_with(&have))
                {
                    1.5
                } else {
                    strsim::jaro_winkler(&have, &wanted)
                };
                (score >= 0.8).then_some((score, c.name.as_str()))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .take(MAX_SUGGESTIONS)
            .map(|(_, n)| n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(names: &[(&str, Option<&str>)]) -> Schema {
        Schema {
            source: None,
            untyped: Vec::new(),
            commands: names
                .iter()
                .map(|(n, class)| CommandSchema {
                    class: class.map(str::to_owned),
                    ..CommandSchema::new(*n)
                })
                .collect(),
        }
    }

    #[test]
    fn finds_by_wire_name_then_unique_class() {
        let s = schema(&[
            ("hello", Some("Hello")),
            ("Sum", None),
            ("x", Some("Dup")),
            ("y", Some("Dup")),
        ]);
        assert_eq!(s.find("hello").unwrap().name, "hello");
        assert_eq!(s.find("Hello").unwrap().name, "hello");
        assert_eq!(s.find("Sum").unwrap().name, "Sum");
        assert!(s.find("Dup").is_none(), "two classes named Dup: ambiguous");
        assert!(s.find("sum").is_none());
    }

    #[test]
    fn close_matches() {
        let s = schema(&[
            ("Sum", None),
            ("Divide", None),
            ("Echo", None),
            ("Summary", None),
        ]);
        assert_eq!(s.close_matches("sum"), vec!["Sum", "Summary"]);
        assert_eq!(s.close_matches("Divid"), vec!["Divide"]);
        assert_eq!(s.close_matches("Devide"), vec!["Divide"]);
        assert!(s.close_matches("Zzz").is_empty());
    }
}
