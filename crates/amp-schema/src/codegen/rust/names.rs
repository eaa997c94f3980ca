//! Rust names for schema names: snake_case fields, UpperCamelCase types
//! and variants, keywords avoided, collisions numbered.
//!
//! The rules, applied the same way every time:
//!
//! * A name is cut into words at every character that is not an ASCII
//!   letter or digit (`-`, `_`, `.`, spaces, non-ASCII letters), at each
//!   lowercase letter or digit followed by an uppercase one (`mixedCase`),
//!   and before the last uppercase letter of a run followed by a lowercase
//!   one (`HTTPRequest` is `HTTP`, `Request`).
//! * snake_case joins the words lowercased with `_`; UpperCamelCase
//!   capitalises each word and lowercases the rest of it (`HTTP` becomes
//!   `Http`, `ZERO_DIVISION` becomes `ZeroDivision`), as Rust's naming
//!   conventions (and clippy's `upper_case_acronyms`) want.
//! * No words, or a first word starting with a digit: a prefix says what
//!   the name is (`field_2fa`, `Command404`, `Code404`; `field`,
//!   `Command`, `Code` alone for a name with no letters or digits).
//! * A keyword becomes a raw identifier (`r#type`); the four that cannot
//!   (`self`, `super`, `crate`, `Self`) get a suffix: `self_` for a field,
//!   the kind's word for a type (`SelfCommand`, `SelfCode`).
//! * Two names that come out the same in one scope: the later gets `_2`,
//!   `_3`, ... (fields) or `2`, `3`, ... (types, variants), in schema
//!   order.

use std::collections::HashSet;

/// Rust's keywords (strict and reserved, 2015 to 2024 editions): a field
/// or type with one of these names needs `r#`.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate"];

/// The words of `name` (see the module's rules).
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && c.is_ascii_uppercase() {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                let boundary = prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower);
                if boundary && !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            word.push(c);
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// `name` in snake_case, a valid field identifier (raw if a keyword).
pub(crate) fn snake(name: &str) -> String {
    let mut s = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if s.is_empty() {
        s = "field".to_owned();
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("field_{s}");
    }
    if NOT_RAW.contains(&s.as_str()) {
        s.push('_');
    } else if KEYWORDS.contains(&s.as_str()) {
        s.insert_str(0, "r#");
    }
    s
}

/// `name` in UpperCamelCase, a valid type or variant identifier; `kind`
/// (`Command`, `Code`, ...) is the prefix or suffix when one is needed.
pub(crate) fn camel(name: &str, kind: &str) -> String {
    let mut s = String::new();
    for w in words(name) {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            s.push(first.to_ascii_uppercase());
            s.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, kind);
    }
    if s == "Self" {
        s.push_str(kind);
    }
    s
}

/// The identifier without `r#` (what the derive takes as the wire name).
pub(crate) fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// The names taken in one scope (a module's types, a struct's fields, an
/// enum's variants), handing out unique ones.
#[derive(Default)]
pub(crate) struct Scope {
    taken: HashSet<String>,
}

impl Scope {
    /// `wanted`, or with the lowest number from 2 on that makes it unique
    /// (`sep` between: `_` for fields, nothing for types).
    pub(crate) fn unique(&mut self, wanted: String, sep: &str) -> String {
        let mut name = wanted.clone();
        // `self_` goes on as `self_2`, not `self__2`.
        let base = unraw(&wanted).trim_end_matches(|c| sep == "_" && c == '_');
        let mut n = 2;
        while self.taken.contains(unraw(&name)) {
            name = format!("{base}{sep}{n}");
            n += 1;
        }
        self.taken.insert(unraw(&name).to_owned());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_case_and_punctuation() {
        assert_eq!(words("mixedCase"), ["mixed", "Case"]);
        assert_eq!(words("HTTPRequest"), ["HTTP", "Request"]);
        assert_eq!(words("dash-arg"), ["dash", "arg"]);
        assert_eq!(words("ZERO_DIVISION"), ["ZERO", "DIVISION"]);
        assert_eq!(words("base64Encode"), ["base64", "Encode"]);
        assert_eq!(words("a.b c"), ["a", "b", "c"]);
        assert_eq!(words("naïve"), ["na", "ve"]);
        assert!(words("--").is_empty());
    }

    #[test]
    fn snake_case_fields() {
        assert_eq!(snake("hello"), "hello");
        assert_eq!(snake("mixedCase"), "mixed_case");
        assert_eq!(snake("dash-arg"), "dash_arg");
        assert_eq!(snake("underscore_arg"), "underscore_arg");
        assert_eq!(snake("magicWord"), "magic_word");
        assert_eq!(snake("URL"), "url");
        assert_eq!(snake("2fa"), "field_2fa");
        assert_eq!(snake("-"), "field");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("Match"), "r#match");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("crate"), "crate_");
        assert_eq!(snake("print"), "print");
        assert_eq!(snake("from"), "from");
    }

    #[test]
    fn camel_case_types_and_variants() {
        assert_eq!(camel("Hello", "Command"), "Hello");
        assert_eq!(camel("getlist", "Command"), "Getlist");
        assert_eq!(camel("GetList", "Command"), "GetList");
        assert_eq!(camel("Switch-Proto", "Command"), "SwitchProto");
        assert_eq!(camel("WTF", "Command"), "Wtf");
        assert_eq!(camel("broken_return", "Command"), "BrokenReturn");
        assert_eq!(camel("UNFRIENDLY", "Code"), "Unfriendly");
        assert_eq!(camel("ZERO_DIVISION", "Code"), "ZeroDivision");
        assert_eq!(camel("404", "Code"), "Code404");
        assert_eq!(camel("...", "Code"), "Code");
        assert_eq!(camel("self", "Command"), "SelfCommand");
        assert_eq!(camel("SELF", "Code"), "SelfCode");
        assert_eq!(camel("type", "Command"), "Type");
    }

    #[test]
    fn collisions_are_numbered_in_order() {
        let mut fields = Scope::default();
        assert_eq!(fields.unique(snake("fooBar"), "_"), "foo_bar");
        assert_eq!(fields.unique(snake("foo-bar"), "_"), "foo_bar_2");
        assert_eq!(fields.unique(snake("foo_bar"), "_"), "foo_bar_3");
        assert_eq!(fields.unique(snake("type"), "_"), "r#type");
        assert_eq!(fields.unique(snake("Type"), "_"), "type_2");
        assert_eq!(fields.unique(snake("self"), "_"), "self_");
        assert_eq!(fields.unique(snake("Self"), "_"), "self_2");
        let mut types = Scope::default();
        assert_eq!(types.unique(camel("Hello", "Command"), ""), "Hello");
        assert_eq!(types.unique(camel("hello", "Command"), ""), "Hello2");
        assert_eq!(types.unique(camel("HELLO", "Command"), ""), "Hello3");
    }
}
