//! Finding a command the user named, and the names closest to one that is
//! not there.

use super::{CommandSchema, Schema};

/// How many close matches an error names at most.
pub const MAX_SUGGESTIONS: usize = 5;

/// How many names an error lists when none is close.
pub const MAX_LISTED: usize = 20;

impl Schema {
    /// The command `name` stands for: its wire name, else the one command
    /// whose Python class is `name`.
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
    /// or one starting with the other), best first, at most
    /// [`MAX_SUGGESTIONS`].
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

    /// The message for a command `name` that is not in the schema (read
    /// from `file`): the close matches, else the names there are.
    pub fn not_found(&self, name: &str, file: &str) -> String {
        let close = self.close_matches(name);
        if !close.is_empty() {
            return format!(
                "no command `{name}` in {file}; did you mean {}?",
                close.join(", ")
            );
        }
        if self.commands.is_empty() {
            return format!("no command `{name}`: {file} has no commands");
        }
        let names: Vec<&str> = self
            .commands
            .iter()
            .take(MAX_LISTED)
            .map(|c| c.name.as_str())
            .collect();
        let more = match self.commands.len().saturating_sub(MAX_LISTED) {
            0 => String::new(),
            n => format!(" and {n} more (amp list)"),
        };
        format!(
            "no command `{name}` in {file}; it has {}{more}",
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Kind;

    fn schema(names: &[(&str, Option<&str>)]) -> Schema {
        Schema {
            source: None,
            commands: names
                .iter()
                .map(|(n, class)| CommandSchema {
                    name: n.to_string(),
                    class: class.map(str::to_owned),
                    doc: None,
                    arguments: vec![],
                    response: vec![],
                    errors: Default::default(),
                    fatal_errors: Default::default(),
                    requires_answer: true,
                    kind: Kind::Command,
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
    fn close_matches_and_listing() {
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
        let m = s.not_found("Zzz", "f.json");
        assert_eq!(
            m,
            "no command `Zzz` in f.json; it has Sum, Divide, Echo, Summary"
        );
        let m = s.not_found("Ecko", "f.json");
        assert_eq!(m, "no command `Ecko` in f.json; did you mean Echo?");
        let many: Vec<(String, Option<&str>)> = (0..25).map(|i| (format!("C{i}"), None)).collect();
        let many: Vec<(&str, Option<&str>)> = many.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let m = schema(&many).not_found("Zzz", "f.json");
        assert!(m.ends_with("C19 and 5 more (amp list)"), "{m}");
        assert_eq!(
            schema(&[]).not_found("A", "f.json"),
            "no command `A`: f.json has no commands"
        );
    }
}
