//! One crate's listing: a line per public item, field, variant, member
//! and trait impl.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::model::{array, id_of, only, str_of, Docs, ItemRef};
use crate::render::Render;

/// The sorted listing of crate `krate`.
pub(crate) fn listing(docs: &Docs, krate: &str) -> Vec<String> {
    let names = &docs.names[krate];
    let mut out = Out {
        docs,
        krate,
        lines: BTreeMap::new(),
    };
    for (r, path) in &names.canonical {
        out.item(r, path);
    }
    for (path, r) in &names.all {
        let canonical = &names.canonical[r];
        if canonical != path {
            out.push(path, format!("alias {path} = {canonical}"));
        }
    }
    for (path, source) in &names.foreign {
        out.push(path, format!("use {path} = {source}"));
    }
    let mut sorted: Vec<(String, String)> = out
        .lines
        .into_iter()
        .map(|(line, key)| (key, line))
        .collect();
    sorted.sort();
    sorted.into_iter().map(|(_, line)| line).collect()
}

/// The lines of one listing, each with the key it sorts by.
pub(crate) struct Out<'a> {
    pub(crate) docs: &'a Docs,
    /// The listed crate.
    pub(crate) krate: &'a str,
    /// Line to sort key (the path it belongs under).
    pub(crate) lines: BTreeMap<String, String>,
}

impl Out<'_> {
    pub(crate) fn push(&mut self, key: &str, line: String) {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        match self.lines.get_mut(&line) {
            Some(k) if k.as_str() <= key => {}
            Some(k) => *k = key.to_string(),
            None => {
                self.lines.insert(line, key.to_string());
            }
        }
    }

    pub(crate) fn ty(&self, krate: &str) -> Render<'_> {
        Render {
            docs: self.docs,
            listed: self.krate,
            doc: krate.to_string(),
        }
    }

    /// The lines of item `r`, named `path`.
    pub(crate) fn item(&mut self, r: &ItemRef, path: &str) {
        let item = self.docs.item(r);
        let rd = self.ty(&r.0);
        let (kind, body) = only(&item["inner"]);
        let attrs = attributes(item);
        match kind {
            "module" => self.push(path, format!("mod {path}")),
            "struct" | "union" => {
                let fields = match &body["kind"] {
                    Value::Null if body["has_stripped_fields"] == true => " { .. }".to_string(),
                    Value::Null => String::new(),
                    Value::String(s) if s == "unit" => ";".to_string(),
                    v => match only(v) {
                        ("tuple", fields) => {
                            let list: Vec<String> = array(fields)
                                .iter()
                                .map(|f| match f.as_null() {
                                    Some(()) => "_".to_string(),
                                    None => self.field_type(&r.0, &id_of(f)),
                                })
                                .collect();
                            format!("({})", list.join(", "))
                        }
                        ("plain", plain) => {
                            let stripped = plain["has_stripped_fields"] == true;
                            if stripped {
                                " { .. }".to_string()
                            } else {
                                String::new()
                            }
                        }
                        (other, _) => format!(" /* {other} */"),
                    },
                };
                // A union's fields are always plain.
                let field_ids = match &body["kind"] {
                    Value::Object(o) => o
                        .values()
                        .flat_map(|v| match v {
                            Value::Array(a) => a.clone(),
                            Value::Object(p) => array(&p["fields"]).to_vec(),
                            _ => vec![],
                        })
                        .collect(),
                    _ => array(&body["fields"]).to_vec(),
                };
                let (params, wheres) = rd.generics(&body["generics"]);
                self.push(
                    path,
                    format!("{attrs}{kind} {path}{params}{fields}{wheres}"),
                );
                for (n, f) in field_ids.iter().enumerate() {
                    if f.is_null() {
                        continue;
                    }
                    let Some(field) = self.docs.doc(&r.0).item(&id_of(f)) else {
                        continue;
                    };
                    if field["visibility"] != "public" {
                        continue;
                    }
                    let name = field["name"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or(n.to_string());
                    let ty = self.field_type(&r.0, &id_of(f));
                    let fpath = format!("{path}::{name}");
                    self.push(&fpath, format!("field {fpath}: {ty}"));
                }
                self.impls(r, path, &body["impls"]);
            }
            "enum" => {
                let (params, wheres) = rd.generics(&body["generics"]);
                let stripped = if body["has_stripped_variants"] == true {
                    " { .. }"
                } else {
                    ""
                };
                self.push(
                    path,
                    format!("{attrs}enum {path}{params}{wheres}{stripped}"),
                );
                for v in array(&body["variants"]) {
                    let Some(variant) = self.docs.doc(&r.0).item(&id_of(v)) else {
                        continue;
                    };
                    let vpath = format!("{path}::{}", str_of(&variant["name"]));
                    let line = self.variant(&r.0, variant, &vpath);
                    self.push(&vpath, line);
                }
                self.impls(r, path, &body["impls"]);
            }
            "trait" => {
                let (params, wheres) = rd.generics(&body["generics"]);
                let bounds = rd.bounds(&body["bounds"]);
                let bounds = if bounds.is_empty() {
                    String::new()
                } else {
                    format!(": {bounds}")
                };
                let unsafety = if body["is_unsafe"] == true {
                    "unsafe "
                } else {
                    ""
                };
                let auto = if body["is_auto"] == true { "auto " } else { "" };
                self.push(
                    path,
                    format!("{attrs}{unsafety}{auto}trait {path}{params}{bounds}{wheres}"),
                );
                for i in array(&body["items"]) {
                    let Some(member) = self.docs.doc(&r.0).item(&id_of(i)) else {
                        continue;
                    };
                    let mpath = format!("{path}::{}", str_of(&member["name"]));
                    let line = self.member(&r.0, member, &mpath, true);
                    self.push(&mpath, line);
                }
                for i in array(&body["implementations"]) {
                    self.trait_impl(&r.0, &id_of(i), path);
                }
            }
            "function" => {
                let line = rd.function(body, path);
                self.push(path, format!("{attrs}{line}"));
            }
            "constant" => {
                let ty = rd.ty(&body["type"]);
                let value = match body["const"]["value"].as_str() {
                    Some(v) => v.to_string(),
                    None => str_of(&body["const"]["expr"]),
                };
                self.push(path, format!("const {path}: {ty} = {value}"));
            }
            "static" => {
                let ty = rd.ty(&body["type"]);
                let m = if body["is_mutable"] == true {
                    "mut "
                } else {
                    ""
                };
                self.push(path, format!("static {m}{path}: {ty}"));
            }
            "type_alias" => {
                let (params, wheres) = rd.generics(&body["generics"]);
                let ty = rd.ty(&body["type"]);
                self.push(path, format!("type {path}{params}{wheres} = {ty}"));
            }
            "macro" => self.push(path, format!("macro {path}!")),
            "proc_macro" => {
                let helpers: Vec<String> = array(&body["helpers"]).iter().map(str_of).collect();
                let helpers = if helpers.is_empty() {
                    String::new()
                } else {
                    format!(" (attributes: {})", helpers.join(", "))
                };
                let kind = str_of(&body["kind"]);
                self.push(path, format!("proc_macro {kind} {path}{helpers}"));
            }
            other => self.push(path, format!("{other} {path}")),
        }
    }

    pub(crate) fn field_type(&self, krate: &str, id: &str) -> String {
        match self.docs.doc(krate).item(id) {
            Some(field) => self.ty(krate).ty(&field["inner"]["struct_field"]),
            None => "_".to_string(),
        }
    }

    pub(crate) fn variant(&self, krate: &str, variant: &Value, vpath: &str) -> String {
        let body = &variant["inner"]["variant"];
        let fields = match &body["kind"] {
            Value::String(s) if s == "plain" => String::new(),
            v => match only(v) {
                ("tuple", fields) => {
                    let list: Vec<String> = array(fields)
                        .iter()
                        .map(|f| match f.as_null() {
                            Some(()) => "_".to_string(),
                            None => self.field_type(krate, &id_of(f)),
                        })
                        .collect();
                    format!("({})", list.join(", "))
                }
                ("struct", s) => {
                    let mut list: Vec<String> = array(&s["fields"])
                        .iter()
                        .map(|f| {
                            let name = self
                                .docs
                                .doc(krate)
                                .item(&id_of(f))
                                .map(|i| str_of(&i["name"]))
                                .unwrap_or_default();
                            format!("{name}: {}", self.field_type(krate, &id_of(f)))
                        })
                        .collect();
                    if s["has_stripped_fields"] == true {
                        list.push("..".to_string());
                    }
                    format!(" {{ {} }}", list.join(", "))
                }
                (other, _) => format!(" /* {other} */"),
            },
        };
        let discriminant = match body["discriminant"].as_object() {
            Some(d) => format!(" = {}", str_of(&d["expr"])),
            None => String::new(),
        };
        format!("variant {vpath}{fields}{discriminant}")
    }

    /// A function, constant or type of a trait or an impl, named `mpath`.
    pub(crate) fn member(
        &self,
        krate: &str,
        member: &Value,
        mpath: &str,
        in_trait: bool,
    ) -> String {
        let rd = self.ty(krate);
        let (kind, body) = only(&member["inner"]);
        match kind {
            "function" => {
                let provided = if in_trait && body["has_body"] == true {
                    " (provided)"
                } else {
                    ""
                };
                format!(
                    "{}{}{provided}",
                    attributes(member),
                    rd.function(body, mpath)
                )
            }
            "assoc_const" => {
                let ty = rd.ty(&body["type"]);
                let value = match body["value"].as_str() {
                    Some(v) => format!(" = {v}"),
                    None => String::new(),
                };
                format!("const {mpath}: {ty}{value}")
            }
            "assoc_type" => {
                let (params, wheres) = rd.generics(&body["generics"]);
                let bounds = rd.bounds(&body["bounds"]);
                let bounds = if bounds.is_empty() {
                    String::new()
                } else {
                    format!(": {bounds}")
                };
                let default = match body["type"].is_null() {
                    true => String::new(),
                    false => format!(" = {}", rd.ty(&body["type"])),
                };
                format!("type {mpath}{params}{bounds}{wheres}{default}")
            }
            other => format!("{other} {mpath}"),
        }
    }

    /// The impls of a listed type: inherent items under its path, one line
    /// per trait impl.
    pub(crate) fn impls(&mut self, r: &ItemRef, path: &str, impls: &Value) {
        for i in array(impls) {
            let id = id_of(i);
            let Some(imp) = self.docs.doc(&r.0).item(&id) else {
                continue;
            };
            let body = &imp["inner"]["impl"];
            if !body["blanket_impl"].is_null() {
                continue;
            }
            if !body["trait"].is_null() {
                self.trait_impl(&r.0, &id, path);
                continue;
            }
            let rd = self.ty(&r.0);
            let (params, wheres) = rd.generics(&body["generics"]);
            let context = if params.is_empty() && wheres.is_empty() {
                String::new()
            } else {
                format!(" (in impl{params} {}{wheres})", rd.ty(&body["for"]))
            };
            for m in array(&body["items"]) {
                let Some(member) = self.docs.doc(&r.0).item(&id_of(m)) else {
                    continue;
                };
                if member["visibility"] != "public" {
                    continue;
                }
                let mpath = format!("{path}::{}", str_of(&member["name"]));
                let line = self.member(&r.0, member, &mpath, false);
                self.push(&mpath, format!("{line}{context}"));
            }
        }
    }

    /// One `impl Trait for Type` line, sorted under `key`.
    pub(crate) fn trait_impl(&mut self, krate: &str, id: &str, key: &str) {
        let Some(imp) = self.docs.doc(krate).item(id) else {
            return;
        };
        let body = &imp["inner"]["impl"];
        if !body["blanket_impl"].is_null() {
            return;
        }
        let rd = self.ty(krate);
        let tr = rd.path(&body["trait"]);
        let tr_name = rd.name(&body["trait"]["id"], "");
        // Of the auto traits rustdoc works out, only the stable ones; and
        // not the compiler's marker for derived `PartialEq`s.
        let stable_auto = AUTO_TRAITS.contains(&tr_name.as_str());
        if (body["is_synthetic"] == true && !stable_auto)
            || tr_name == "std::marker::StructuralPartialEq"
        {
            return;
        }
        let (params, wheres) = rd.generics(&body["generics"]);
        let unsafety = if body["is_unsafe"] == true {
            "unsafe "
        } else {
            ""
        };
        let negative = if body["is_negative"] == true { "!" } else { "" };
        let ty = rd.ty(&body["for"]);
        let mut assoc = Vec::new();
        for m in array(&body["items"]) {
            let Some(member) = self.docs.doc(krate).item(&id_of(m)) else {
                continue;
            };
            let (kind, b) = only(&member["inner"]);
            let name = str_of(&member["name"]);
            match kind {
                "assoc_type" => assoc.push(format!("type {name} = {};", rd.ty(&b["type"]))),
                "assoc_const" => {
                    let value = b["value"].as_str().map(str::to_string).unwrap_or_default();
                    assoc.push(format!("const {name}: {} = {value};", rd.ty(&b["type"])))
                }
                _ => {}
            }
        }
        assoc.sort();
        let assoc = if assoc.is_empty() {
            String::new()
        } else {
            format!(" {{ {} }}", assoc.join(" "))
        };
        self.push(
            &format!("{key} impl"),
            format!("{unsafety}impl{params} {negative}{tr} for {ty}{wheres}{assoc}"),
        );
    }
}

/// The attributes that are part of an item's API.
pub(crate) fn attributes(item: &Value) -> String {
    let mut out = String::new();
    for a in array(&item["attrs"]) {
        if let Value::String(s) = a {
            if s == "non_exhaustive" {
                out.push_str("#[non_exhaustive] ");
            }
        } else if let Some(o) = a.as_object() {
            if o.contains_key("non_exhaustive") {
                out.push_str("#[non_exhaustive] ");
            }
        }
    }
    out
}

/// The stable auto traits, whose impls (worked out by rustdoc) are listed.
pub(crate) const AUTO_TRAITS: &[&str] = &[
    "std::marker::Send",
    "std::marker::Sync",
    "std::marker::Unpin",
    "std::panic::UnwindSafe",
    "std::panic::RefUnwindSafe",
];
