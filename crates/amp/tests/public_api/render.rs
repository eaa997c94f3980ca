//! Types, bounds and signatures written out as users read them.

use serde_json::Value;

use crate::model::{array, compact, id_of, only, str_of, Docs};

/// Renders types and signatures found in one crate's JSON, naming items by
/// their public paths in the listed crate.
pub(crate) struct Render<'a> {
    pub(crate) docs: &'a Docs,
    pub(crate) listed: &'a str,
    pub(crate) doc: String,
}

impl Render<'_> {
    pub(crate) fn name(&self, id: &Value, written: &str) -> String {
        let doc = self.docs.doc(&self.doc);
        let def = match id.is_null() {
            true => None,
            false => doc.def_path(&id_of(id)),
        };
        let Some(def) = def else {
            return written.to_string();
        };
        // Under the listed crate's name for it, else under its own crate's.
        if let Some(p) = self.docs.names[self.listed].by_def_path.get(&def) {
            return p.clone();
        }
        let owner = def.split("::").next().unwrap_or_default();
        if let Some(p) = self
            .docs
            .names
            .get(owner)
            .and_then(|n| n.by_def_path.get(&def))
        {
            return p.clone();
        }
        std_path(def)
    }

    pub(crate) fn path(&self, p: &Value) -> String {
        let name = self.name(&p["id"], p["path"].as_str().unwrap_or_default());
        format!("{name}{}", self.args(&p["args"]))
    }

    pub(crate) fn args(&self, args: &Value) -> String {
        if args.is_null() {
            return String::new();
        }
        if let Value::String(s) = args {
            return format!("({s})");
        }
        match only(args) {
            ("angle_bracketed", a) => {
                let mut parts: Vec<String> = array(&a["args"])
                    .iter()
                    .map(|arg| match arg {
                        Value::String(s) if s == "infer" => "_".to_string(),
                        _ => match only(arg) {
                            ("lifetime", l) => str_of(l),
                            ("type", t) => self.ty(t),
                            ("const", c) => self.constant(c),
                            (_, v) => compact(v),
                        },
                    })
                    .collect();
                for c in array(&a["constraints"]) {
                    let name = format!("{}{}", str_of(&c["name"]), self.args(&c["args"]));
                    match only(&c["binding"]) {
                        ("equality", term) => parts.push(format!("{name} = {}", self.term(term))),
                        ("constraint", bounds) => {
                            parts.push(format!("{name}: {}", self.bounds(bounds)))
                        }
                        (_, v) => parts.push(format!("{name} {}", compact(v))),
                    }
                }
                if parts.is_empty() {
                    String::new()
                } else {
                    format!("<{}>", parts.join(", "))
                }
            }
            ("parenthesized", p) => {
                let inputs: Vec<String> = array(&p["inputs"]).iter().map(|t| self.ty(t)).collect();
                let output = match p["output"].is_null() {
                    true => String::new(),
                    false => format!(" -> {}", self.ty(&p["output"])),
                };
                format!("({}){output}", inputs.join(", "))
            }
            (_, v) => compact(v),
        }
    }

    pub(crate) fn term(&self, term: &Value) -> String {
        match only(term) {
            ("type", t) => self.ty(t),
            ("constant", c) => self.constant(c),
            (_, v) => compact(v),
        }
    }

    pub(crate) fn constant(&self, c: &Value) -> String {
        match c["value"].as_str() {
            Some(v) => v.to_string(),
            None => str_of(&c["expr"]),
        }
    }

    pub(crate) fn ty(&self, t: &Value) -> String {
        if t.is_null() {
            return "()".to_string();
        }
        if let Value::String(s) = t {
            return if s == "infer" {
                "_".to_string()
            } else {
                s.clone()
            };
        }
        match only(t) {
            ("resolved_path", p) => self.path(p),
            ("dyn_trait", d) => {
                let mut parts: Vec<String> = array(&d["traits"])
                    .iter()
                    .map(|p| self.poly_trait(p))
                    .collect();
                if let Some(l) = d["lifetime"].as_str() {
                    parts.push(l.to_string());
                }
                format!("dyn {}", parts.join(" + "))
            }
            ("generic", g) | ("primitive", g) => str_of(g),
            ("function_pointer", f) => {
                let hrtb = self.hrtb(&f["generic_params"]);
                let header = self.header(&f["header"]);
                let sig = self.sig(&f["sig"]);
                format!("{hrtb}{header}fn{sig}")
            }
            ("tuple", items) => {
                let items: Vec<String> = array(items).iter().map(|t| self.ty(t)).collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
            ("slice", inner) => format!("[{}]", self.ty(inner)),
            ("array", a) => format!("[{}; {}]", self.ty(&a["type"]), str_of(&a["len"])),
            ("pat", p) => format!(
                "{} is {}",
                self.ty(&p["type"]),
                compact(&p["__pat_unstable_do_not_use"])
            ),
            ("impl_trait", bounds) => format!("impl {}", self.bounds(bounds)),
            ("raw_pointer", p) => {
                let m = if p["is_mutable"] == true {
                    "mut"
                } else {
                    "const"
                };
                format!("*{m} {}", self.ty(&p["type"]))
            }
            ("borrowed_ref", r) => {
                let l = r["lifetime"]
                    .as_str()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default();
                let m = if r["is_mutable"] == true { "mut " } else { "" };
                format!("&{l}{m}{}", self.ty(&r["type"]))
            }
            ("qualified_path", q) => {
                let self_ty = self.ty(&q["self_type"]);
                let name = format!("{}{}", str_of(&q["name"]), self.args(&q["args"]));
                match q["trait"].is_null() {
                    true => format!("{self_ty}::{name}"),
                    false => format!("<{self_ty} as {}>::{name}", self.path(&q["trait"])),
                }
            }
            (_, v) => compact(v),
        }
    }

    pub(crate) fn poly_trait(&self, p: &Value) -> String {
        format!(
            "{}{}",
            self.hrtb(&p["generic_params"]),
            self.path(&p["trait"])
        )
    }

    pub(crate) fn hrtb(&self, params: &Value) -> String {
        let params: Vec<String> = array(params).iter().filter_map(|p| self.param(p)).collect();
        if params.is_empty() {
            String::new()
        } else {
            format!("for<{}> ", params.join(", "))
        }
    }

    pub(crate) fn bounds(&self, bounds: &Value) -> String {
        let parts: Vec<String> = array(bounds)
            .iter()
            .map(|b| match only(b) {
                ("trait_bound", t) => {
                    let modifier = match t["modifier"].as_str() {
                        Some("maybe") => "?",
                        Some("maybe_const") => "~const ",
                        _ => "",
                    };
                    format!(
                        "{}{modifier}{}",
                        self.hrtb(&t["generic_params"]),
                        self.path(&t["trait"])
                    )
                }
                ("outlives", l) => str_of(l),
                ("use", args) => {
                    let args: Vec<String> = array(args)
                        .iter()
                        .map(|a| match a {
                            Value::String(s) => s.clone(),
                            _ => str_of(only(a).1),
                        })
                        .collect();
                    format!("use<{}>", args.join(", "))
                }
                (_, v) => compact(v),
            })
            .collect();
        parts.join(" + ")
    }

    /// A generic parameter, `None` for those rustdoc made up for an
    /// `impl Trait` argument (shown in the argument).
    pub(crate) fn param(&self, p: &Value) -> Option<String> {
        let name = str_of(&p["name"]);
        match only(&p["kind"]) {
            ("lifetime", l) => {
                let outlives: Vec<String> = array(&l["outlives"]).iter().map(str_of).collect();
                match outlives.is_empty() {
                    true => Some(name),
                    false => Some(format!("{name}: {}", outlives.join(" + "))),
                }
            }
            ("type", t) => {
                if t["is_synthetic"] == true {
                    return None;
                }
                let bounds = self.bounds(&t["bounds"]);
                let mut s = name;
                if !bounds.is_empty() {
                    s = format!("{s}: {bounds}");
                }
                if !t["default"].is_null() {
                    s = format!("{s} = {}", self.ty(&t["default"]));
                }
                Some(s)
            }
            ("const", c) => {
                let mut s = format!("const {name}: {}", self.ty(&c["type"]));
                if let Some(d) = c["default"].as_str() {
                    s = format!("{s} = {d}");
                }
                Some(s)
            }
            (_, v) => Some(format!("{name} {}", compact(v))),
        }
    }

    /// `<params>` and ` where ...` of a generics object.
    pub(crate) fn generics(&self, g: &Value) -> (String, String) {
        let params: Vec<String> = array(&g["params"])
            .iter()
            .filter_map(|p| self.param(p))
            .collect();
        let params = match params.is_empty() {
            true => String::new(),
            false => format!("<{}>", params.join(", ")),
        };
        let wheres: Vec<String> = array(&g["where_predicates"])
            .iter()
            .map(|w| match only(w) {
                ("bound_predicate", b) => format!(
                    "{}{}: {}",
                    self.hrtb(&b["generic_params"]),
                    self.ty(&b["type"]),
                    self.bounds(&b["bounds"])
                ),
                ("lifetime_predicate", l) => {
                    let outlives: Vec<String> = array(&l["outlives"]).iter().map(str_of).collect();
                    format!("{}: {}", str_of(&l["lifetime"]), outlives.join(" + "))
                }
                ("eq_predicate", e) => format!("{} = {}", self.ty(&e["lhs"]), self.term(&e["rhs"])),
                (_, v) => compact(v),
            })
            .collect();
        let wheres = match wheres.is_empty() {
            true => String::new(),
            false => format!(" where {}", wheres.join(", ")),
        };
        (params, wheres)
    }

    pub(crate) fn header(&self, h: &Value) -> String {
        let mut s = String::new();
        if h["is_const"] == true {
            s.push_str("const ");
        }
        if h["is_async"] == true {
            s.push_str("async ");
        }
        if h["is_unsafe"] == true {
            s.push_str("unsafe ");
        }
        match &h["abi"] {
            Value::String(abi) if abi == "Rust" => {}
            abi => s.push_str(&format!("extern {} ", compact(abi))),
        }
        s
    }

    /// `(inputs) -> output`.
    pub(crate) fn sig(&self, sig: &Value) -> String {
        let inputs: Vec<String> = array(&sig["inputs"])
            .iter()
            .map(|input| {
                let name = str_of(&input[0]);
                let ty = &input[1];
                if name == "self" {
                    if ty["generic"] == "Self" {
                        return "self".to_string();
                    }
                    if let Some(r) = ty.get("borrowed_ref") {
                        if r["type"]["generic"] == "Self" {
                            let l = r["lifetime"]
                                .as_str()
                                .map(|l| format!("{l} "))
                                .unwrap_or_default();
                            let m = if r["is_mutable"] == true { "mut " } else { "" };
                            return format!("&{l}{m}self");
                        }
                    }
                    return format!("self: {}", self.ty(ty));
                }
                format!("{name}: {}", self.ty(ty))
            })
            .collect();
        let mut inputs = inputs.join(", ");
        if sig["is_c_variadic"] == true {
            inputs.push_str(", ...");
        }
        let output = match sig["output"].is_null() {
            true => String::new(),
            false => format!(" -> {}", self.ty(&sig["output"])),
        };
        format!("({inputs}){output}")
    }

    pub(crate) fn function(&self, f: &Value, path: &str) -> String {
        let (params, wheres) = self.generics(&f["generics"]);
        let header = self.header(&f["header"]);
        let sig = self.sig(&f["sig"]);
        format!("{header}fn {path}{params}{sig}{wheres}")
    }
}

/// The path of a standard library item as users write it, not where it is
/// defined (which changes between Rust releases): `std::`, its top module,
/// its name (`core::future::future::Future` is `std::future::Future`).
pub(crate) fn std_path(def: String) -> String {
    let parts: Vec<&str> = def.split("::").collect();
    match parts.as_slice() {
        ["core" | "alloc" | "std", name] => format!("std::{name}"),
        ["core" | "alloc" | "std", module, .., name] => format!("std::{module}::{name}"),
        _ => def,
    }
}
