//! Schemas of Rust commands: what `#[derive(Command)]` tells of a command
//! ([`amp_wire::describe`]) as this crate's model, so that a Rust program's
//! own commands can be written out as a schema file.

use amp_wire::describe::{AmpType, CommandDescription, CommandKind, Field as RustField};

use crate::model::{ArgType, CommandSchema, Field, Kind};

impl From<&AmpType> for ArgType {
    fn from(t: &AmpType) -> ArgType {
        match t {
            AmpType::Integer => ArgType::Integer,
            AmpType::String => ArgType::String,
            AmpType::Unicode => ArgType::Unicode,
            AmpType::Boolean => ArgType::Boolean,
            AmpType::Float => ArgType::Float,
            AmpType::Decimal => ArgType::Decimal,
            AmpType::DateTime => ArgType::DateTime,
            AmpType::Path => ArgType::Path,
            AmpType::Descriptor => ArgType::Descriptor,
            AmpType::BigString => ArgType::BigString,
            AmpType::BigUnicode => ArgType::BigUnicode,
            AmpType::ListOf(of) => ArgType::ListOf {
                of: Box::new(ArgType::from(&**of)),
            },
            AmpType::AmpList(fields) => ArgType::AmpList {
                fields: fields.iter().map(Field::from).collect(),
            },
            // A type of the program's own (and any added later).
            _ => ArgType::Raw { class: None },
        }
    }
}

impl From<&RustField> for Field {
    fn from(f: &RustField) -> Field {
        Field {
            name: f.name.clone(),
            ty: ArgType::from(&f.ty),
            optional: f.optional,
        }
    }
}

/// A derived command as a schema command. Rust error enums have no Python
/// exception names: each error code stands for itself.
///
/// ```
/// use amp_schema::{ArgType, CommandSchema};
/// use amp_wire::describe::{AmpType, CommandDescription, Field};
///
/// let mut d = CommandDescription::new("Sum");
/// d.arguments = vec![Field::new("a", AmpType::Integer)];
/// d.errors = vec!["OVERFLOW".into()];
/// let c = CommandSchema::from(&d);
/// assert_eq!(c.name, "Sum");
/// assert_eq!(c.arguments[0].ty, ArgType::Integer);
/// assert_eq!(c.errors["OVERFLOW"], "OVERFLOW");
/// assert!(c.problems(0).is_empty());
/// ```
impl From<&CommandDescription> for CommandSchema {
    fn from(d: &CommandDescription) -> CommandSchema {
        let codes = |v: &[String]| v.iter().map(|c| (c.clone(), c.clone())).collect();
        CommandSchema {
            name: d.name.clone(),
            class: None,
            doc: d.doc.clone(),
            arguments: d.arguments.iter().map(Field::from).collect(),
            response: d.response.iter().map(Field::from).collect(),
            errors: codes(&d.errors),
            fatal_errors: codes(&d.fatal_errors),
            requires_answer: d.requires_answer,
            kind: match d.kind {
                CommandKind::Switch => Kind::Switch,
                CommandKind::StartTls => Kind::Starttls,
                _ => Kind::Command,
            },
        }
    }
}
