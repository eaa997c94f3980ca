//! The rules a schema follows beyond its syntax (docs/SCHEMA.md,
//! "Rules"): unique non-empty names that fit AMP's keys, no reserved keys,
//! bounded nesting, only the lists Twisted can encode, and error codes that
//! are short and in one table.

use amp_wire::session::keys;
use std::collections::HashSet;
use std::fmt;

use crate::model::{ArgType, CommandSchema, Field, Schema};

/// The longest name, in bytes: AMP's key limit (field names are keys;
/// command names and error codes are held to it too).
pub(crate) const MAX_NAME_LENGTH: usize = amp_wire::MAX_KEY_LENGTH;

/// How many `ListOf`/`AmpList` may nest, one inside another.
pub(crate) const MAX_DEPTH: usize = 32;

/// Keys AMP itself uses in a box (`_ask`, `_answer`, `_error`, `_command`,
/// `_error_code`, `_error_description`): never an argument or a response
/// field of a command (inside an `AmpList` element they are ordinary keys).
pub const RESERVED_KEYS: [&str; 6] = [
    keys::ASK,
    keys::ANSWER,
    keys::ERROR,
    keys::COMMAND,
    keys::ERROR_CODE,
    keys::ERROR_DESCRIPTION,
];

/// [`Schema::problems`] reports at most this many problems.
pub const MAX_PROBLEMS: usize = 50;

/// One broken rule: where (`command Sum, argument b`) and what.
///
/// ```
/// use amp_schema::{Format, Schema};
///
/// let text = r#"{"commands": [{"name": "Sum",
///     "errors": {"BAD": "BadInput"}, "fatalErrors": {"BAD": "BadInput"}}]}"#;
/// let problems = Schema::parse(text, Format::Json)?.problems();
/// assert_eq!(problems.len(), 1);
/// assert_eq!(problems[0].place, "command Sum, error code BAD");
/// assert!(problems[0].message.starts_with("in both errors and fatalErrors"));
/// assert!(problems[0].to_string().starts_with("command Sum, error code BAD: in both"));
/// # Ok::<(), amp_schema::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The command, field, ... by name.
    pub place: String,
    /// What is wrong there and how to mend it.
    pub message: String,
}

impl fmt::Display for Problem {
    /// `place: message`, a run of the same step in the place shortened
    /// (`element ×4`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", collapse(&self.place), self.message)
    }
}

/// A place with runs of the same step shortened: `argument x, element,
/// element, element, element` as `argument x, element ×4`.
pub(crate) fn collapse(place: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut steps = place.split(", ").peekable();
    while let Some(step) = steps.next() {
        let mut n = 1;
        while steps.peek() == Some(&step) {
            steps.next();
            n += 1;
        }
        if n > 3 {
            out.push(format!("{step} ×{n}"));
        } else {
            out.extend(std::iter::repeat_n(step.to_owned(), n));
        }
    }
    out.join(", ")
}

impl Schema {
    /// Every broken rule (at most [`MAX_PROBLEMS`]); empty if the schema is
    /// good.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (i, c) in self.commands.iter().enumerate() {
            let label = command_label(i, c);
            if !c.name.is_empty() && !seen.insert(c.name.as_str()) {
                push(
                    &mut out,
                    &format!("{label} (command #{})", i + 1),
                    format!(
                        "a second command named `{}`: wire names must be unique \
                         (rename or remove one)",
                        c.name
                    ),
                );
            }
            command_problems(i, c, &mut out);
        }
        for name in &self.untyped {
            let place = format!("untyped command {}", shorten(name));
            if name.is_empty() || name.len() > MAX_NAME_LENGTH {
                push(
                    &mut out,
                    &place,
                    format!("a name must be 1 to {MAX_NAME_LENGTH} bytes"),
                );
            } else if !seen.insert(name.as_str()) {
                push(
                    &mut out,
                    &place,
                    "named twice (in `commands` or `untyped`): names must be unique".to_owned(),
                );
            }
        }
        out.truncate(MAX_PROBLEMS);
        out
    }
}

impl CommandSchema {
    /// Every broken rule of this command alone (the `index`th of its
    /// schema, for naming it if it has no name).
    ///
    /// ```
    /// use amp_schema::{Format, Schema};
    /// let text = r#"{"commands": [{"name": "Sum",
    ///     "arguments": [{"name": "_ask", "type": "Integer"}]}]}"#;
    /// let schema = Schema::parse(text, Format::Json)?;
    /// let problems = schema.commands[0].problems(0);
    /// assert_eq!(problems.len(), 1);
    /// assert_eq!(problems[0].place, "command Sum, argument _ask");
    /// # Ok::<(), amp_schema::ParseError>(())
    /// ```
    pub fn problems(&self, index: usize) -> Vec<Problem> {
        let mut out = Vec::new();
        command_problems(index, self, &mut out);
        out
    }
}

/// `command NAME`, or `command #N` for one without a name.
fn command_label(index: usize, c: &CommandSchema) -> String {
    if c.name.is_empty() {
        format!("command #{}", index + 1)
    } else {
        format!("command {}", shorten(&c.name))
    }
}

/// A name cut to 40 characters, for messages about over-long names.
pub(crate) fn shorten(name: &str) -> String {
    match name.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

fn push(out: &mut Vec<Problem>, place: &str, message: String) {
    if out.len() < MAX_PROBLEMS {
        out.push(Problem {
            place: place.to_owned(),
            message,
        });
    }
}

/// What is wrong with `name` as a name, if anything.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("the name is empty".to_owned())
    } else if name.len() > MAX_NAME_LENGTH {
        Some(format!(
            "the name is {} bytes, over the limit of {MAX_NAME_LENGTH}",
            name.len()
        ))
    } else {
        None
    }
}

fn command_problems(index: usize, c: &CommandSchema, out: &mut Vec<Problem>) {
    let label = command_label(index, c);
    if let Some(p) = name_problem(&c.name) {
        push(out, &label, p);
    }
    fields(&c.arguments, "argument", &label, true, 0, out);
    fields(&c.response, "response field", &label, true, 0, out);
    for (table, key) in [(&c.errors, "errors"), (&c.fatal_errors, "fatalErrors")] {
        for (code, exception) in table {
            let place = format!("{label}, {key}, error code {}", shorten(code));
            if code.is_empty() {
                push(out, &place, "the error code is empty".to_owned());
            } else if code.len() > MAX_NAME_LENGTH {
                push(
                    out,
                    &place,
                    format!(
                        "the error code is {} bytes, over the limit of {MAX_NAME_LENGTH}",
                        code.len()
                    ),
                );
            }
            if exception.is_empty() {
                push(
                    out,
                    &place,
                    "the exception name is empty (name the Python exception the code stands for)"
                        .to_owned(),
                );
            }
        }
    }
    for code in c.errors.keys() {
        if c.fatal_errors.contains_key(code) {
            push(
                out,
                &format!("{label}, error code {}", shorten(code)),
                "in both errors and fatalErrors: keep it in one (fatalErrors if it closes \
                 the connection)"
                    .to_owned(),
            );
        }
    }
}

/// The rules for the fields of one box: `noun` names them in messages,
/// `top` is true for a command's own arguments and response (where AMP's
/// reserved keys live), `depth` counts the lists around them.
fn fields(
    list: &[Field],
    noun: &str,
    outer: &str,
    top: bool,
    depth: usize,
    out: &mut Vec<Problem>,
) {
    let mut seen = HashSet::new();
    let big: HashSet<&str> = list
        .iter()
        .filter(|f| matches!(f.ty, ArgType::BigString | ArgType::BigUnicode))
        .map(|f| f.name.as_str())
        .collect();
    for (i, f) in list.iter().enumerate() {
        let place = if f.name.is_empty() {
            format!("{outer}, {noun} #{}", i + 1)
        } else {
            format!("{outer}, {noun} {}", shorten(&f.name))
        };
        if let Some(p) = name_problem(&f.name) {
            push(out, &place, p);
        } else if !seen.insert(f.name.as_str()) {
            push(
                out,
                &place,
                format!(
                    "a second {noun} named `{}`: names in one box must be unique",
                    f.name
                ),
            );
        }
        if top && RESERVED_KEYS.contains(&f.name.as_str()) {
            push(
                out,
                &place,
                format!(
                    "`{}` is one of AMP's own keys ({}): choose another name",
                    f.name,
                    RESERVED_KEYS.join(", ")
                ),
            );
        }
        if let Some((base, n)) = f.name.rsplit_once('.') {
            let chunk = n.parse::<u64>().is_ok_and(|n| n >= 2) && !n.starts_with('0');
            if chunk && big.contains(base) {
                push(
                    out,
                    &place,
                    format!(
                        "collides with chunk {n} of the {} field `{base}` (sent as `{base}.{n}`)",
                        list.iter()
                            .find(|g| g.name == base)
                            .map_or("BigString", |g| g.ty.name())
                    ),
                );
            }
        }
        ty(&f.ty, &place, depth, out);
    }
}

/// The rules for a type inside `depth` lists.
fn ty(t: &ArgType, place: &str, depth: usize, out: &mut Vec<Problem>) {
    let nested = matches!(t, ArgType::ListOf { .. } | ArgType::AmpList { .. });
    if nested && depth >= MAX_DEPTH {
        push(
            out,
            place,
            format!("ListOf/AmpList nested more than {MAX_DEPTH} deep"),
        );
        return;
    }
    match t {
        ArgType::ListOf { of } => {
            let refused = match **of {
                ArgType::Descriptor => Some(
                    "a ListOf cannot hold Descriptors: Twisted's ListOf encodes each element \
                     without the connection, so no descriptor would be sent (an AmpList with \
                     a Descriptor field can)",
                ),
                ArgType::AmpList { .. } => Some(
                    "a ListOf cannot hold an AmpList: Twisted cannot encode that (an AmpList \
                     field inside an AmpList can)",
                ),
                ArgType::BigString | ArgType::BigUnicode => Some(
                    "a ListOf cannot hold BigString/BigUnicode: they are chunked over box \
                     keys, which a list element has none of (use String or Unicode)",
                ),
                _ => None,
            };
            if let Some(why) = refused {
                push(out, place, why.to_owned());
            }
            ty(of, &format!("{place}, element"), depth + 1, out);
        }
        ArgType::AmpList { fields: inner } => fields(inner, "field", place, false, depth + 1, out),
        _ => {}
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
