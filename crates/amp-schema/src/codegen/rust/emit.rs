//! The Rust text for a schema: first every type is planned (names given
//! out in schema order, so they never depend on what is emitted), then
//! written.

use std::fmt::Write as _;

use super::names::{camel, snake, unraw, Scope};
use super::{IntegerType, Options};
use crate::model::{ArgType, CommandSchema, Field, Kind, Schema};

/// A Rust type for an AMP type.
enum RType {
    Integer,
    Bytes,
    Text,
    Bool,
    Float,
    Decimal,
    DateTime,
    Path,
    Descriptor,
    BigBytes,
    BigText,
    Raw,
    List(Box<RType>),
    /// A `Vec` of the record at this index of `Plan::items`.
    Records(usize),
}

/// Which derivable traits a type has.
#[derive(Clone, Copy)]
struct Traits {
    /// `Clone` and `PartialEq` (everything but `Descriptor`, an owned
    /// file descriptor).
    clone_eq: bool,
    /// `Default` (not `Decimal` nor `Descriptor`).
    default: bool,
}

impl Traits {
    const ALL: Traits = Traits {
        clone_eq: true,
        default: true,
    };

    fn and(self, other: Traits) -> Traits {
        Traits {
            clone_eq: self.clone_eq && other.clone_eq,
            default: self.default && other.default,
        }
    }
}

struct FieldPlan {
    ident: String,
    wire: String,
    ty: RType,
    optional: bool,
    /// The schema's type, for the field's doc.
    schema_ty: String,
}

enum RecordRole {
    Command {
        wire: String,
        response: String,
        error: Option<String>,
        requires_answer: bool,
        kind: Kind,
    },
    Response {
        command: String,
    },
    Element {
        owner: String,
        wire: String,
    },
}

struct Variant {
    ident: String,
    code: String,
    exception: String,
    fatal: bool,
}

enum Item {
    Record {
        name: String,
        doc: Option<String>,
        role: RecordRole,
        fields: Vec<FieldPlan>,
    },
    Errors {
        name: String,
        command: String,
        variants: Vec<Variant>,
    },
}

struct Plan {
    items: Vec<Item>,
    types: Scope,
    uses_raw: bool,
}

impl Plan {
    /// Plans the record `name` with `fields` (and, after it, the records
    /// of its `AmpList` fields); returns its index.
    fn record(
        &mut self,
        name: String,
        doc: Option<String>,
        role: RecordRole,
        fields: &[Field],
    ) -> usize {
        let index = self.items.len();
        self.items.push(Item::Record {
            name: name.clone(),
            doc,
            role,
            fields: Vec::new(),
        });
        let mut scope = Scope::default();
        let mut planned = Vec::new();
        for f in fields {
            let ident = scope.unique(snake(&f.name), "_");
            let ty = self.rtype(&f.ty, &name, &f.name);
            planned.push(FieldPlan {
                ident,
                wire: f.name.clone(),
                ty,
                optional: f.optional,
                schema_ty: f.ty.to_string(),
            });
        }
        if let Item::Record { fields, .. } = &mut self.items[index] {
            *fields = planned;
        }
        index
    }

    fn rtype(&mut self, t: &ArgType, owner: &str, field: &str) -> RType {
        match t {
            ArgType::Integer => RType::Integer,
            ArgType::String => RType::Bytes,
            ArgType::Unicode => RType::Text,
            ArgType::Boolean => RType::Bool,
            ArgType::Float => RType::Float,
            ArgType::Decimal => RType::Decimal,
            ArgType::DateTime => RType::DateTime,
            ArgType::Path => RType::Path,
            ArgType::Descriptor => RType::Descriptor,
            ArgType::BigString => RType::BigBytes,
            ArgType::BigUnicode => RType::BigText,
            ArgType::Raw { .. } => {
                self.uses_raw = true;
                RType::Raw
            }
            ArgType::ListOf { of } => RType::List(Box::new(self.rtype(of, owner, field))),
            ArgType::AmpList { fields } => {
                let name = self
                    .types
                    .unique(format!("{owner}{}", camel(field, "Field")), "");
                let role = RecordRole::Element {
                    owner: owner.to_owned(),
                    wire: field.to_owned(),
                };
                RType::Records(self.record(name, None, role, fields))
            }
        }
    }

    fn command(&mut self, c: &CommandSchema) {
        let base = c.class.as_deref().unwrap_or(&c.name);
        let name = self.types.unique(camel(base, "Command"), "");
        let response = self.types.unique(format!("{name}Response"), "");
        let index = self.record(
            name.clone(),
            c.doc.clone(),
            RecordRole::Command {
                wire: c.name.clone(),
                response: response.clone(),
                error: None,
                requires_answer: c.requires_answer,
                kind: c.kind,
            },
            &c.arguments,
        );
        self.record(
            response,
            None,
            RecordRole::Response {
                command: name.clone(),
            },
            &c.response,
        );
        if c.errors.is_empty() && c.fatal_errors.is_empty() {
            return;
        }
        let error = self.types.unique(format!("{name}Error"), "");
        if let Item::Record {
            role: RecordRole::Command { error: e, .. },
            ..
        } = &mut self.items[index]
        {
            *e = Some(error.clone());
        }
        let mut scope = Scope::default();
        let variants = c
            .errors
            .iter()
            .map(|e| (e, false))
            .chain(c.fatal_errors.iter().map(|e| (e, true)))
            .map(|((code, exception), fatal)| Variant {
                ident: scope.unique(camel(code, "Code"), ""),
                code: code.clone(),
                exception: exception.clone(),
                fatal,
            })
            .collect();
        self.items.push(Item::Errors {
            name: error,
            command: name,
            variants,
        });
    }

    fn traits(&self, t: &RType) -> Traits {
        match t {
            RType::Decimal => Traits {
                clone_eq: true,
                default: false,
            },
            RType::Descriptor => Traits {
                clone_eq: false,
                default: false,
            },
            // A Vec is Default whatever it holds.
            RType::List(of) => Traits {
                default: true,
                ..self.traits(of)
            },
            RType::Records(i) => Traits {
                default: true,
                ..self.record_traits(*i)
            },
            _ => Traits::ALL,
        }
    }

    fn record_traits(&self, index: usize) -> Traits {
        match &self.items[index] {
            Item::Record { fields, .. } => fields.iter().fold(Traits::ALL, |acc, f| {
                let t = self.traits(&f.ty);
                // An Option is Default whatever it holds.
                acc.and(Traits {
                    default: t.default || f.optional,
                    ..t
                })
            }),
            Item::Errors { .. } => Traits::ALL,
        }
    }
}

/// The whole module (see [`super::generate`]).
pub(super) fn module(schema: &Schema, options: &Options) -> String {
    let mut plan = Plan {
        items: Vec::new(),
        types: Scope::default(),
        uses_raw: false,
    };
    for c in &schema.commands {
        plan.command(c);
    }
    let raw = plan
        .uses_raw
        .then(|| plan.types.unique("RawValue".to_owned(), ""));
    let w = Writer {
        plan: &plan,
        options,
        raw: raw.as_deref().unwrap_or("RawValue"),
    };

    let mut out = String::new();
    header(&mut out, schema, options);
    for (i, item) in plan.items.iter().enumerate() {
        out.push('\n');
        match item {
            Item::Record { .. } => w.record(&mut out, i),
            Item::Errors {
                name,
                command,
                variants,
            } => w.errors(&mut out, name, command, variants),
        }
    }
    if let Some(raw) = &raw {
        out.push('\n');
        w.raw_value(&mut out, raw);
    }
    out
}

fn header(out: &mut String, schema: &Schema, options: &Options) {
    match &options.source {
        Some(file) => {
            let _ = writeln!(
                out,
                "// Generated by amp schema gen rust from {file}; do not edit."
            );
        }
        None => out.push_str("// Generated by amp schema gen rust; do not edit.\n"),
    }
    if let Some(source) = &schema.source {
        let _ = writeln!(out, "// Schema source: {}.", one_line(source));
    }
    let _ = writeln!(
        out,
        "// Options: Integer as {}, the amp crate as {}.",
        match options.integer {
            IntegerType::I64 => "i64",
            IntegerType::BigInt => "::num_bigint::BigInt",
        },
        options.amp_path
    );
    if !schema.untyped.is_empty() {
        let names: Vec<String> = schema.untyped.iter().map(|n| one_line(n)).collect();
        let _ = writeln!(
            out,
            "// Known by name only (call them with Connection::call_raw): {}.",
            names.join(", ")
        );
    }
}

/// Text that stays on its comment line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A Rust string literal for `s`.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// `s` as `///` lines at `indent`. Each line is trimmed (the derive trims
/// them when it reads the doc back); an opening code fence with no
/// language becomes ```` ```text ```` so that rustdoc does not take the
/// schema's example for a Rust doctest.
fn doc(out: &mut String, indent: &str, s: &str) {
    let mut in_fence = false;
    for line in s.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            let line = if !in_fence && (line == "```" || line == "```rust") {
                "```text"
            } else {
                line
            };
            in_fence = !in_fence;
            let _ = writeln!(out, "{indent}/// {line}");
        } else if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

struct Writer<'a> {
    plan: &'a Plan,
    options: &'a Options,
    raw: &'a str,
}

impl Writer<'_> {
    fn amp(&self) -> &str {
        &self.options.amp_path
    }

    fn rust_type(&self, t: &RType) -> String {
        let amp = self.amp();
        match t {
            RType::Integer => match self.options.integer {
                IntegerType::I64 => "i64".to_owned(),
                IntegerType::BigInt => "::num_bigint::BigInt".to_owned(),
            },
            RType::Bytes => "::std::vec::Vec<u8>".to_owned(),
            RType::Text => "::std::string::String".to_owned(),
            RType::Bool => "bool".to_owned(),
            RType::Float => "f64".to_owned(),
            RType::Decimal => format!("{amp}::Decimal"),
            RType::DateTime => "::chrono::DateTime<::chrono::FixedOffset>".to_owned(),
            RType::Path => "::std::path::PathBuf".to_owned(),
            RType::Descriptor => format!("{amp}::Descriptor"),
            RType::BigBytes => format!("{amp}::BigBytes"),
            RType::BigText => format!("{amp}::BigString"),
            RType::Raw => self.raw.to_owned(),
            RType::List(of) => format!("::std::vec::Vec<{}>", self.rust_type(of)),
            RType::Records(i) => format!("::std::vec::Vec<{}>", self.name(*i)),
        }
    }

    fn name(&self, index: usize) -> &str {
        match &self.plan.items[index] {
            Item::Record { name, .. } | Item::Errors { name, .. } => name,
        }
    }

    fn derives(&self, traits: Traits, derive: &str) -> String {
        let mut list = vec!["Debug"];
        if traits.clone_eq {
            list.extend(["Clone", "PartialEq"]);
        }
        if traits.default {
            list.push("Default");
        }
        format!("#[derive({}, {}::{derive})]", list.join(", "), self.amp())
    }

    /// `crate = "..."` when the amp crate is not at `::amp`.
    fn crate_attr(&self) -> Option<String> {
        (self.amp() != "::amp").then(|| format!("crate = {}", lit(self.amp())))
    }

    fn record(&self, out: &mut String, index: usize) {
        let Item::Record {
            name,
            doc: text,
            role,
            fields,
        } = &self.plan.items[index]
        else {
            return;
        };
        let mut attrs: Vec<String> = Vec::new();
        let derive = match role {
            RecordRole::Command {
                wire,
                response,
                error,
                requires_answer,
                kind,
            } => {
                if let Some(text) = text {
                    doc(out, "", text);
                }
                match kind {
                    Kind::Command => {}
                    Kind::Switch => {
                        if text.is_some() {
                            out.push_str("///\n");
                        }
                        out.push_str(
                            "/// Kind: switch (a protocol switch). Call it with \
                             `Connection::switch`, answer it with `Router::route_switch`.\n",
                        );
                    }
                    Kind::Starttls => {
                        if text.is_some() {
                            out.push_str("///\n");
                        }
                        out.push_str(
                            "/// Kind: starttls. amp sends and answers it itself: call \
                             `Connection::start_tls`, serve it with `Router::start_tls`.\n",
                        );
                    }
                }
                attrs.push(format!("name = {}", lit(wire)));
                attrs.push(format!("response = {response}"));
                if let Some(e) = error {
                    attrs.push(format!("error = {e}"));
                }
                if !requires_answer {
                    attrs.push("requires_answer = false".to_owned());
                }
                "Command"
            }
            RecordRole::Response { command } => {
                let _ = writeln!(out, "/// The answer to [`{command}`](struct@{command}).");
                "Record"
            }
            RecordRole::Element { owner, wire } => {
                let _ = writeln!(
                    out,
                    "/// One element of [`{owner}`](struct@{owner})'s AmpList `{wire}`."
                );
                "Record"
            }
        };
        out.push_str(&self.derives(self.plan.record_traits(index), derive));
        out.push('\n');
        attrs.extend(self.crate_attr());
        if !attrs.is_empty() {
            let _ = writeln!(out, "#[amp({})]", attrs.join(", "));
        }
        if fields.is_empty() {
            let _ = writeln!(out, "pub struct {name};");
            return;
        }
        let _ = writeln!(out, "pub struct {name} {{");
        for f in fields {
            let described = match &f.ty {
                RType::Records(i) => format!("AmpList of [`{0}`](struct@{0})", self.name(*i)),
                _ => f.schema_ty.clone(),
            };
            let optional = if f.optional { ", optional" } else { "" };
            let _ = writeln!(
                out,
                "    /// `{}`: {described}{optional}.",
                one_line(&f.wire)
            );
            if unraw(&f.ident) != f.wire {
                let _ = writeln!(out, "    #[amp(name = {})]", lit(&f.wire));
            }
            let mut ty = self.rust_type(&f.ty);
            if f.optional {
                ty = format!("::core::option::Option<{ty}>");
            }
            let _ = writeln!(out, "    pub {}: {ty},", f.ident);
        }
        out.push_str("}\n");
    }

    fn errors(&self, out: &mut String, name: &str, command: &str, variants: &[Variant]) {
        let _ = writeln!(
            out,
            "/// The errors [`{command}`](struct@{command}) declares; each carries the peer's description."
        );
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, PartialEq, {}::AmpError)]",
            self.amp()
        );
        match self.crate_attr() {
            Some(c) => {
                let _ = writeln!(out, "#[amp(display, {c})]");
            }
            None => out.push_str("#[amp(display)]\n"),
        }
        // Variant names are the error codes: codes often share a word
        // (`..._ERROR`), and renaming them would hide which code is which.
        out.push_str("#[allow(clippy::enum_variant_names)]\n");
        let _ = writeln!(out, "pub enum {name} {{");
        for v in variants {
            let fatal = if v.fatal {
                ": fatal, the connection closes after it"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    /// `{}` (`{}`){fatal}.",
                one_line(&v.code),
                one_line(&v.exception)
            );
            let fatal = if v.fatal { ", fatal" } else { "" };
            let _ = writeln!(out, "    #[amp(code = {}{fatal})]", lit(&v.code));
            let _ = writeln!(out, "    {}(::std::string::String),", v.ident);
        }
        out.push_str("}\n\n");
        let _ = writeln!(out, "impl ::std::error::Error for {name} {{}}");
    }

    fn raw_value(&self, out: &mut String, name: &str) {
        let amp = self.amp();
        let _ = write!(
            out,
            "\
/// A value of a type the schema does not know (`Raw`): its bytes as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct {name}(pub ::std::vec::Vec<u8>);

impl {amp}::Argument for {name} {{
    fn encode(
        &self,
        out: &mut {amp}::__private::BytesMut,
        _: &mut {amp}::Context<'_>,
    ) -> ::core::result::Result<(), {amp}::EncodeError> {{
        out.extend_from_slice(&self.0);
        ::core::result::Result::Ok(())
    }}

    fn decode(
        raw: {amp}::__private::Bytes,
        _: &mut {amp}::Context<'_>,
    ) -> ::core::result::Result<Self, {amp}::DecodeError> {{
        ::core::result::Result::Ok(Self(raw.to_vec()))
    }}
}}
"
        );
    }
}
