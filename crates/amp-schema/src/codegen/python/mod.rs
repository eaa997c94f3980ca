//! A schema as a Python module of Twisted `amp.Command` classes, with a
//! `typing.TypedDict` for each command's arguments and response
//! (`amp schema gen python`).
//!
//! The module needs only Twisted and Python 3.9 or later, and
//! `amp schema import` reads it back as the same schema (docs/SCHEMA.md,
//! "Generating Python", lists the few texts that cannot come back exactly).
//! How it gets there:
//!
//! - Each command is a class named after its `class`, else its wire name,
//!   made an ASCII identifier and unique in the module (`_2`, `_3`, ...
//!   after it). Where that identifier is not the wire name the class sets
//!   `commandName`; where it is not the recorded class name it sets
//!   `__qualname__`, which is the name Python (and `amp schema import`)
//!   reports.
//! - An exception is the builtin class when the name is one of Python's
//!   builtin exceptions; any other is a class defined in the module whose
//!   `__module__` and `__qualname__` are the recorded name's parts
//!   (`myproject.Overload`: module `myproject`, name `Overload`; a name
//!   without a dot: module `builtins`), so that it reports the recorded
//!   name. One exception standing for several codes of a command gets a
//!   subclass per extra code (a Python `errors` dict holds a class once).
//! - `BigString` and `BigUnicode` are argument classes of those names
//!   defined in the module, chunking values over `k`, `k.2`, ... A `Raw`
//!   field's class is an argument class defined in the module that passes
//!   the bytes as they are and hands received ones over as `RawBytes`; it
//!   reports the recorded class name as above.

mod names;
mod templates;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use super::GenError;
use crate::{ArgType, CommandSchema, Field, Kind, Schema};
use names::{bytes_literal, docstring, is_builtin_exception, is_identifier, str_literal, Names};
use templates::{BIG_STRING, BIG_UNICODE, RAW};

/// How Python code is generated (nothing to choose yet: the module is
/// always the same for the same schema).
///
/// ```
/// let options = amp_schema::codegen::python::Options::default();
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {}

/// The Python module for `schema`: Twisted `amp.Command` classes, with
/// type annotations (a `typing.TypedDict` per command's arguments and
/// response). An error if the schema breaks the rules of docs/SCHEMA.md.
///
/// ```
/// use amp_schema::codegen::python::{generate, Options};
/// use amp_schema::{Format, Schema};
///
/// let schema = Schema::parse(
///     r#"{"commands": [{"name": "Sum",
///         "arguments": [{"name": "a", "type": "Integer"}, {"name": "b", "type": "Integer"}],
///         "response": [{"name": "total", "type": "Integer"}]}]}"#,
///     Format::Json,
/// )?;
/// let code = generate(&schema, &Options::default())?;
/// assert!(code.contains("class Sum(amp.Command):"));
/// assert!(code.contains("class SumArguments(typing.TypedDict):\n    a: int\n    b: int\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate(schema: &Schema, options: &Options) -> Result<String, GenError> {
    let Options {} = options;
    let problems = schema.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(GenError::new(format!(
            "the schema breaks the rules, so no Python is generated: {}",
            list.join("; ")
        )));
    }
    Ok(Module::plan(schema).write())
}

/// A class the module defines so that it reports another name.
#[derive(Debug)]
struct StandIn {
    /// The identifier in the module.
    ident: String,
    /// Its base class.
    base: String,
    /// The `__module__` and `__qualname__` it reports.
    module: String,
    qualname: String,
}

impl StandIn {
    /// `recorded` (`mod.Name`, or a bare `Name`) as a class `ident`.
    fn new(ident: String, base: String, recorded: &str) -> StandIn {
        let (module, qualname) = match recorded.rsplit_once('.') {
            Some((m, q)) if !m.is_empty() && !q.is_empty() => (m, q),
            _ => ("builtins", recorded),
        };
        StandIn {
            ident,
            base,
            module: module.to_owned(),
            qualname: qualname.to_owned(),
        }
    }

    fn write(&self, comment: &str, out: &mut String) {
        out.push_str(&format!(
            "\n\n# {comment}\nclass {}({}):\n    __module__ = {}\n",
            self.ident,
            self.base,
            str_literal(&self.module)
        ));
        if self.qualname != self.ident {
            out.push_str(&format!(
                "    __qualname__ = {}\n",
                str_literal(&self.qualname)
            ));
        }
    }
}

/// What the module holds, every name decided.
struct Module<'a> {
    schema: &'a Schema,
    names: Names,
    /// Per command: its class identifier.
    commands: Vec<String>,
    /// Exceptions defined in the module, in order; and for each recorded
    /// name, the identifiers standing for it (the first, then one per
    /// extra code within one command).
    exceptions: Vec<StandIn>,
    exception_idents: BTreeMap<String, Vec<String>>,
    big: Option<(String, String)>,
    raw: Option<(String, String)>,
    raw_classes: Vec<(String, StandIn)>,
}

/// Every type in `fields`, nested ones included.
fn each_type<'f>(fields: &'f [Field], out: &mut Vec<&'f ArgType>) {
    for f in fields {
        each_type_in(&f.ty, out);
    }
}

fn each_type_in<'f>(ty: &'f ArgType, out: &mut Vec<&'f ArgType>) {
    out.push(ty);
    match ty {
        ArgType::ListOf { of } => each_type_in(of, out),
        ArgType::AmpList { fields } => each_type(fields, out),
        _ => {}
    }
}

/// The builtins the generated code refers to by name (kept free of
/// commands and other classes).
const USED_BUILTINS: [&str; 12] = [
    "bool",
    "bytes",
    "enumerate",
    "Exception",
    "float",
    "int",
    "isinstance",
    "len",
    "list",
    "range",
    "str",
    "TypeError",
];

/// The modules the generated code imports.
const MODULES: [&str; 5] = ["amp", "datetime", "decimal", "filepath", "typing"];

impl<'a> Module<'a> {
    fn plan(schema: &'a Schema) -> Module<'a> {
        let mut names = Names::default();
        for name in USED_BUILTINS.iter().chain(MODULES.iter()) {
            names.reserve(name);
        }
        for c in &schema.commands {
            for name in c.errors.values().chain(c.fatal_errors.values()) {
                if is_builtin_exception(name) {
                    names.reserve(name);
                }
            }
        }
        let commands = schema
            .commands
            .iter()
            .map(|c| names.take(c.class.as_deref().unwrap_or(&c.name), &[]))
            .collect();

        let mut exceptions = Vec::new();
        let mut exception_idents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &schema.commands {
            let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
            for name in c.errors.values().chain(c.fatal_errors.values()) {
                let n = uses.entry(name).or_default();
                *n += 1;
                let have = exception_idents.entry(name.clone()).or_default();
                while have.len() < *n {
                    let first = have.first().cloned();
                    let ident = match &first {
                        None if is_builtin_exception(name) => name.clone(),
                        _ => names.take(last_part(name), &[]),
                    };
                    if !is_builtin_exception(name) || first.is_some() {
                        let base = first.unwrap_or_else(|| "Exception".to_owned());
                        exceptions.push(StandIn::new(ident.clone(), base, name));
                    }
                    have.push(ident);
                }
            }
        }

        let mut types = Vec::new();
        for c in &schema.commands {
            each_type(&c.arguments, &mut types);
            each_type(&c.response, &mut types);
        }
        let big = types
            .iter()
            .any(|t| matches!(t, ArgType::BigString | ArgType::BigUnicode))
            .then(|| (names.take("BigString", &[]), names.take("BigUnicode", &[])));
        let raw = types
            .iter()
            .any(|t| matches!(t, ArgType::Raw { .. }))
            .then(|| (names.take("RawBytes", &[]), names.take("Raw", &[])));
        let mut raw_classes: Vec<(String, StandIn)> = Vec::new();
        for t in &types {
            if let (ArgType::Raw { class: Some(class) }, Some((_, base))) = (t, &raw) {
                if !raw_classes.iter().any(|(c, _)| c == class) {
                    // Never named BigString or BigUnicode: import would take
                    // it for one.
                    let ident = names.take(last_part(class), &["BigString", "BigUnicode"]);
                    raw_classes.push((class.clone(), StandIn::new(ident, base.clone(), class)));
                }
            }
        }
        Module {
            schema,
            names,
            commands,
            exceptions,
            exception_idents,
            big,
            raw,
            raw_classes,
        }
    }

    fn write(mut self) -> String {
        let mut body = String::new();
        for e in &self.exceptions {
            e.write("An error the commands below declare.", &mut body);
        }
        self.write_helpers(&mut body);
        let schema = self.schema;
        for (i, c) in schema.commands.iter().enumerate() {
            self.write_command(i, c, &mut body);
        }
        let mut out = String::new();
        let title = match &self.schema.source {
            Some(source) => {
                format!("Generated by amp schema gen python from {source}; do not edit.\n\n")
            }
            None => "Generated by amp schema gen python; do not edit.\n\n".to_owned(),
        };
        out.push_str(&docstring(
            &format!(
                "{title}Twisted amp.Command classes, each with a typing.TypedDict for its\n\
                 arguments (NameArguments) and its response (NameResponse)."
            ),
            "",
        ));
        out.push('\n');
        for module in ["datetime", "decimal"] {
            if body.contains(&format!("{module}.")) {
                out.push_str(&format!("import {module}\n"));
            }
        }
        out.push_str("import typing\n\nfrom twisted.protocols import amp\n");
        if body.contains("filepath.") {
            out.push_str("from twisted.python import filepath\n");
        }
        out.push_str(&body);
        out
    }

    fn write_helpers(&self, out: &mut String) {
        if let Some((string, unicode)) = &self.big {
            out.push_str(&BIG_STRING.replace("@BIG@", string));
            out.push_str(
                &BIG_UNICODE
                    .replace("@BIG@", string)
                    .replace("@UNI@", unicode),
            );
            for (ident, name) in [(string, "BigString"), (unicode, "BigUnicode")] {
                if ident != name {
                    // `amp schema import` knows these by their `__name__`.
                    out.push_str(&format!(
                        "\n\n{ident}.__name__ = {ident}.__qualname__ = \"{name}\"\n"
                    ));
                }
            }
        }
        if let Some((bytes, raw)) = &self.raw {
            out.push_str(&RAW.replace("@RAWBYTES@", bytes).replace("@RAW@", raw));
            for (_, class) in &self.raw_classes {
                class.write(
                    "A field the schema keeps as Raw: the class it recorded.",
                    out,
                );
            }
        }
    }

    fn write_command(&mut self, index: usize, c: &CommandSchema, out: &mut String) {
        let ident = self.commands[index].clone();
        let args = self.names.take(&format!("{ident}Arguments"), &[]);
        let response = self.names.take(&format!("{ident}Response"), &[]);
        self.typed_dict(
            &args,
            &c.arguments,
            &format!("{ident}'s arguments: a responder's keyword arguments, callRemote's too."),
            out,
        );
        self.typed_dict(
            &response,
            &c.response,
            &format!("{ident}'s response: what a responder returns, callRemote's result."),
            out,
        );
        let base = match c.kind {
            Kind::Command => "amp.Command",
            Kind::Switch => "amp.ProtocolSwitchCommand",
            Kind::Starttls => "amp.StartTLS",
        };
        out.push_str(&format!(
            "\n\n# callRemote({ident}, **{args}) -> {response}\nclass {ident}({base}):\n"
        ));
        if let Some(doc) = c.doc.as_deref().filter(|_| has_doc(c)) {
            out.push_str(&docstring(doc, "    "));
            out.push('\n');
        }
        if ident != c.name {
            out.push_str(&format!("    commandName = {}\n", bytes_literal(&c.name)));
        }
        let class = c.class.as_deref().unwrap_or(&c.name);
        if ident != class {
            out.push_str(&format!("    __qualname__ = {}\n", str_literal(class)));
        }
        let tls = c.kind == Kind::Starttls;
        for (attr, fields) in [("arguments", &c.arguments), ("response", &c.response)] {
            if tls && fields.is_empty() {
                continue; // Twisted's own local-only arguments stay
            }
            let prefix = if tls {
                format!("amp.StartTLS.{attr} + ")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "    {attr} = {prefix}{}\n",
                self.field_list(fields, "    ")
            ));
        }
        let mut extra: BTreeMap<&str, usize> = BTreeMap::new();
        for (attr, table) in [("errors", &c.errors), ("fatalErrors", &c.fatal_errors)] {
            if table.is_empty() {
                continue;
            }
            out.push_str(&format!("    {attr} = {{\n"));
            for (code, name) in table {
                let n = extra.entry(name).or_default();
                let ident = &self.exception_idents[name][*n];
                *n += 1;
                out.push_str(&format!("        {ident}: {},\n", bytes_literal(code)));
            }
            out.push_str("    }\n");
        }
        if !c.requires_answer {
            out.push_str("    requiresAnswer = False\n");
        }
        if out.ends_with(":\n") {
            out.push_str("    pass\n");
        }
    }

    /// `[(b"name", amp.Integer()), ...]`, one field a line.
    fn field_list(&self, fields: &[Field], indent: &str) -> String {
        if fields.is_empty() {
            return "[]".to_owned();
        }
        let inner = format!("{indent}    ");
        let mut out = "[\n".to_owned();
        for f in fields {
            out.push_str(&format!(
                "{inner}({}, {}),\n",
                bytes_literal(&f.name),
                self.argument(&f.ty, f.optional, &inner)
            ));
        }
        out.push_str(indent);
        out.push(']');
        out
    }

    /// The argument object for a field of type `ty`.
    fn argument(&self, ty: &ArgType, optional: bool, indent: &str) -> String {
        let opt = if optional { "optional=True" } else { "" };
        let simple = |class: &str| format!("{class}({opt})");
        match ty {
            ArgType::Integer
            | ArgType::String
            | ArgType::Unicode
            | ArgType::Boolean
            | ArgType::Float
            | ArgType::Decimal
            | ArgType::DateTime
            | ArgType::Path
            | ArgType::Descriptor => simple(&format!("amp.{}", ty.name())),
            ArgType::BigString => simple(&self.big.as_ref().expect("planned").0),
            ArgType::BigUnicode => simple(&self.big.as_ref().expect("planned").1),
            ArgType::Raw { class: None } => simple(&self.raw.as_ref().expect("planned").1),
            ArgType::Raw { class: Some(class) } => {
                let (_, c) = self
                    .raw_classes
                    .iter()
                    .find(|(c, _)| c == class)
                    .expect("planned");
                simple(&c.ident)
            }
            ArgType::ListOf { of } => {
                let sep = if optional { ", " } else { "" };
                format!("amp.ListOf({}{sep}{opt})", self.argument(of, false, indent))
            }
            ArgType::AmpList { fields } => {
                let sep = if optional { ", " } else { "" };
                format!("amp.AmpList({}{sep}{opt})", self.field_list(fields, indent))
            }
        }
    }

    /// A `typing.TypedDict` called `ident` for `fields` (and first one
    /// for each `AmpList` among them), under `comment`.
    fn typed_dict(&mut self, ident: &str, fields: &[Field], comment: &str, out: &mut String) {
        let mut entries = Vec::new();
        for f in fields {
            let mut ty = self.python_type(&f.ty, ident, &f.name, out);
            if f.optional {
                ty = format!("typing.Optional[{ty}]");
            }
            entries.push((names::twisted_key(&f.name), ty));
        }
        out.push_str(&format!("\n\n# {comment}\n"));
        let plain = entries
            .iter()
            .all(|(k, _)| is_identifier(k) && !k.starts_with("__"));
        if plain {
            out.push_str(&format!("class {ident}(typing.TypedDict):\n"));
            if entries.is_empty() {
                out.push_str("    pass\n");
            }
            for (key, ty) in entries {
                out.push_str(&format!("    {key}: {ty}\n"));
            }
        } else {
            // Keys that are no identifiers need the functional form.
            out.push_str(&format!(
                "{ident} = typing.TypedDict(\n    {},\n    {{\n",
                str_literal(ident)
            ));
            for (key, ty) in entries {
                out.push_str(&format!("        {}: {ty},\n", str_literal(&key)));
            }
            out.push_str("    },\n)\n");
        }
    }

    /// The Python type of a value of `ty` as Twisted hands it over; an
    /// `AmpList`'s element type is written to `out` first.
    fn python_type(&mut self, ty: &ArgType, owner: &str, field: &str, out: &mut String) -> String {
        match ty {
            ArgType::Integer | ArgType::Descriptor => "int".to_owned(),
            ArgType::String | ArgType::BigString | ArgType::Raw { .. } => "bytes".to_owned(),
            ArgType::Unicode | ArgType::BigUnicode => "str".to_owned(),
            ArgType::Boolean => "bool".to_owned(),
            ArgType::Float => "float".to_owned(),
            ArgType::Decimal => "decimal.Decimal".to_owned(),
            ArgType::DateTime => "datetime.datetime".to_owned(),
            ArgType::Path => "filepath.FilePath".to_owned(),
            ArgType::ListOf { of } => {
                format!("list[{}]", self.python_type(of, owner, field, out))
            }
            ArgType::AmpList { fields } => {
                let item = self.names.take(&format!("{owner}_{field}"), &[]);
                let comment = format!("An element of {owner}'s field {}.", field.escape_debug());
                self.typed_dict(&item, fields, &comment, out);
                format!("list[{item}]")
            }
        }
    }
}

/// Whether a command has a docstring to write (import drops blank ones).
fn has_doc(c: &CommandSchema) -> bool {
    c.doc.as_deref().is_some_and(|d| !d.trim().is_empty())
}

/// `Name` of `mod.Name` (all of it without a dot).
fn last_part(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((_, last)) if !last.is_empty() => last,
        _ => name,
    }
}
