//! What `amp` says when a command the user named is not in the schema.

use super::Schema;

/// How many names the message lists when none is close.
const MAX_LISTED: usize = 20;

/// The message for a command `name` that is not in `schema` (read from
/// `file`): the close matches, else the names there are.
pub fn not_found(schema: &Schema, name: &str, file: &str) -> String {
    let close = schema.close_matches(name);
    if !close.is_empty() {
        return format!(
            "no command `{name}` in {file}; did you mean {}?",
            close.join(", ")
        );
    }
    if schema.commands.is_empty() {
        return format!("no command `{name}`: {file} has no commands");
    }
    let names: Vec<&str> = schema
        .commands
        .iter()
        .take(MAX_LISTED)
        .map(|c| c.name.as_str())
        .collect();
    let more = match schema.commands.len().saturating_sub(MAX_LISTED) {
        0 => String::new(),
        n => format!(" and {n} more (amp list)"),
    };
    format!(
        "no command `{name}` in {file}; it has {}{more}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CommandSchema;

    fn schema(names: &[&str]) -> Schema {
        Schema {
            source: None,
            untyped: Vec::new(),
            commands: names.iter().map(|n| CommandSchema::new(*n)).collect(),
        }
    }

    #[test]
    fn close_matches_else_the_names() {
        let s = schema(&["Sum", "Divide", "Echo", "Summary"]);
        let m = not_found(&s, "Zzz", "f.json");
        assert_eq!(
            m,
            "no command `Zzz` in f.json; it has Sum, Divide, Echo, Summary"
        );
        let m = not_found(&s, "Ecko", "f.json");
        assert_eq!(m, "no command `Ecko` in f.json; did you mean Echo?");
        let many: Vec<String> = (0..25).map(|i| format!("C{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let m = not_found(&schema(&many), "Zzz", "f.json");
        assert!(m.ends_with("C19 and 5 more (amp list)"), "{m}");
        assert_eq!(
            not_found(&schema(&[]), "A", "f.json"),
            "no command `A`: f.json has no commands"
        );
    }
}
