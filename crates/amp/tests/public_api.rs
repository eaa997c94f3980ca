//! The public API of the published library crates, held to committed
//! listings: `crates/amp/public-api.txt`, `crates/amp-wire/public-api.txt`,
//! `crates/amp-schema/public-api.txt` and `crates/amp-derive/public-api.txt`.
//! Any change to a public item (a new or removed item, a changed signature,
//! field, variant or trait impl) changes a listing, so it shows up in review.
//!
//! How: rustdoc's JSON output (stable rustdoc, unlocked with
//! `RUSTC_BOOTSTRAP=1`, as the format is not stabilised) for the four crates,
//! built once into `target/public-api`, then read here into one line per
//! public item, under the path users name it by (`amp::Connection`, not where
//! it is defined). `amp` is listed with its default features and `tower`.
//!
//! A listing has, one per line, sorted by path:
//! * modules, structs, enums, unions, traits, functions, constants, statics,
//!   type aliases and macros, with generics and signatures;
//! * public struct fields, enum variants (with their fields), trait items,
//!   the methods, constants and types of inherent impls;
//! * one line per `impl Trait for Type` of a listed type or trait, with the
//!   impl's associated types; the stable auto traits (`Send`, `Sync`,
//!   `Unpin`, `UnwindSafe`, `RefUnwindSafe`) included, rustdoc's blanket
//!   impls (`impl<T> From<T> for T`, ...) left out;
//! * types named by their public paths; standard library items as
//!   `std::module::Name` (`std::future::Future`), whichever of `core`,
//!   `alloc` or `std` defines them;
//! * `alias P = Q` when an item is also reachable under a second path `P`,
//!   and `use P = Q` for a re-exported item of another crate (`Q`).
//!
//! To accept a change: `AMP_BLESS_PUBLIC_API=1 cargo test -p amp --test
//! public_api`, then review and commit the listings.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The crates listed: (package, crate name in rustdoc's JSON).
const CRATES: &[(&str, &str)] = &[
    ("amp", "amp"),
    ("amp-wire", "amp_wire"),
    ("amp-schema", "amp_schema"),
    ("amp-derive", "amp_derive"),
];

/// Set to write the listings instead of comparing with them.
const BLESS: &str = "AMP_BLESS_PUBLIC_API";

#[test]
fn amp_public_api() {
    check("amp");
}

#[test]
fn amp_wire_public_api() {
    check("amp-wire");
}

#[test]
fn amp_schema_public_api() {
    check("amp-schema");
}

#[test]
fn amp_derive_public_api() {
    check("amp-derive");
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the JSON once for all four tests; the loaded docs, by crate name.
fn docs() -> &'static Docs {
    static DOCS: OnceLock<Result<Docs, String>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        std::panic::catch_unwind(build_docs).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    match docs {
        Ok(docs) => docs,
        Err(e) => panic!("reading the public API failed: {e}"),
    }
}

/// Runs rustdoc and reads its JSON.
fn build_docs() -> Docs {
    let root = workspace_root();
    // A target directory of its own: the one running this test is
    // locked by the `cargo test` that runs it.
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        // Relative: to where `cargo test` was run, the workspace's root
        // in CI.
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
    .join("public-api");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["doc", "--locked", "--no-deps", "--features", "amp/tower"])
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json")
        .env_remove("CARGO_ENCODED_RUSTDOCFLAGS");
    for (package, _) in CRATES {
        command.args(["-p", package]);
    }
    // What `cargo test` sets for this test (its package's name, manifest
    // directory, ...) is not for the build: some build scripts (ring's)
    // would run again whenever these differ from a plain shell's.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let for_the_test = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&&*key);
        if for_the_test {
            command.env_remove(&*key);
        }
    }
    let output = command.output().expect("run cargo doc");
    // Shown with the test's output (on failure, or with --nocapture).
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "cargo doc (rustdoc JSON) failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut docs = BTreeMap::new();
    for (_, name) in CRATES {
        let file = target.join("doc").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
        docs.insert(name.to_string(), Doc::new(name, json));
    }
    Docs::new(docs)
}

/// Compares `package`'s listing with its committed file, or writes it.
fn check(package: &str) {
    let name = package.replace('-', "_");
    let listing = docs().listing(&name);
    let relative = format!("crates/{package}/public-api.txt");
    let file = workspace_root().join(&relative);
    let header = format!(
        "# The public API of {package}, one item a line (crates/amp/tests/public_api.rs).\n\
         # Regenerate: {BLESS}=1 cargo test -p amp --test public_api\n"
    );
    let new = format!("{header}{}", listing.join("\n") + "\n");
    if std::env::var_os(BLESS).is_some() {
        std::fs::write(&file, &new).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        return;
    }
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    if old == new {
        return;
    }
    let old_lines: BTreeSet<&str> = old.lines().collect();
    let new_lines: BTreeSet<&str> = new.lines().collect();
    let mut diff = String::new();
    for line in old.lines().filter(|l| !new_lines.contains(l)) {
        diff.push_str(&format!("- {line}\n"));
    }
    for line in new.lines().filter(|l| !old_lines.contains(l)) {
        diff.push_str(&format!("+ {line}\n"));
    }
    if diff.is_empty() {
        diff.push_str("(same lines, different order or repetition)\n");
    }
    panic!(
        "the public API of {package} differs from {relative}:\n{diff}\
         If the change is intended, run with {BLESS}=1 to accept it:\n  \
         {BLESS}=1 cargo test -p amp --test public_api\n\
         (Read from rustdoc JSON format {}: a new Rust release may render some \
         lines differently without an API change; accept those too.)",
        docs().format_version(&name)
    );
}

/// One crate's rustdoc JSON.
struct Doc {
    json: Value,
    /// Definition path (`amp_wire::ambox::AmpBox`) and kind of this crate's
    /// own items, to their ids: how other crates' references are resolved.
    by_path: HashMap<(String, String), String>,
}

impl Doc {
    fn new(name: &str, json: Value) -> Doc {
        for key in ["root", "index", "paths", "format_version"] {
            assert!(
                json.get(key).is_some(),
                "{name}.json has no `{key}`: not rustdoc JSON this reader knows"
            );
        }
        let mut by_path = HashMap::new();
        for (id, summary) in json["paths"].as_object().unwrap() {
            if summary["crate_id"] == 0 && json["index"].get(id).is_some() {
                let kind = namespace(summary["kind"].as_str().unwrap_or_default());
                by_path.insert((join(&summary["path"]), kind.to_string()), id.clone());
            }
        }
        let mut doc = Doc { json, by_path };
        // Some items (proc macros) have an id in `paths` that is not their
        // id in `index`: find those by their place in the module tree.
        let root = doc.root();
        doc.add_tree_paths(&root, name);
        doc
    }

    fn add_tree_paths(&mut self, module: &str, path: &str) {
        let children: Vec<String> = match self.item(module).and_then(|m| inner(m, "module")) {
            Some(m) => array(&m["items"]).iter().map(id_of).collect(),
            None => return,
        };
        for id in children {
            let Some(child) = self.item(&id) else {
                continue;
            };
            let kind = only(&child["inner"]).0.to_string();
            let Some(name) = child["name"].as_str() else {
                continue;
            };
            if kind == "use" {
                continue;
            }
            let child_path = format!("{path}::{name}");
            let key = (child_path.clone(), namespace(&kind).to_string());
            self.by_path.entry(key).or_insert(id.clone());
            if kind == "module" {
                self.add_tree_paths(&id, &child_path);
            }
        }
    }

    fn format_version(&self) -> String {
        str_of(&self.json["format_version"])
    }

    fn item(&self, id: &str) -> Option<&Value> {
        self.json["index"].get(id)
    }

    fn root(&self) -> String {
        id_of(&self.json["root"])
    }

    /// The definition path of a referenced item, from `paths`.
    fn def_path(&self, id: &str) -> Option<String> {
        self.json["paths"].get(id).map(|s| join(&s["path"]))
    }

    fn crate_name(&self, crate_id: &Value) -> Option<String> {
        if *crate_id == 0 {
            return self.def_path(&self.root());
        }
        self.json["external_crates"]
            .get(id_of(crate_id))
            .map(|c| str_of(&c["name"]))
    }
}

/// An item: its crate (by name) and its id in that crate's JSON.
type ItemRef = (String, String);

/// What a module entry names.
enum Target {
    Item(ItemRef),
    /// An item of a crate not listed here (`rustls::...`): its path.
    Foreign(String),
}

struct Docs {
    docs: BTreeMap<String, Doc>,
    /// For each listed crate: its public items, each under its shortest path,
    /// and the other paths they are reachable by.
    names: BTreeMap<String, Names>,
}

#[derive(Default)]
struct Names {
    /// Each reachable item, under its first (shortest) public path.
    canonical: HashMap<ItemRef, String>,
    /// Every public path of every item, in the order found.
    all: Vec<(String, ItemRef)>,
    /// Re-exported items of crates not listed: path, source path.
    foreign: Vec<(String, String)>,
    /// Definition path of an item to its public path, for rendering types.
    by_def_path: HashMap<String, String>,
}

impl Docs {
    fn new(docs: BTreeMap<String, Doc>) -> Docs {
        let mut this = Docs {
            docs,
            names: BTreeMap::new(),
        };
        let crates: Vec<String> = this.docs.keys().cloned().collect();
        for name in crates {
            let names = this.walk_names(&name);
            this.names.insert(name, names);
        }
        this
    }

    fn format_version(&self, krate: &str) -> String {
        self.doc(krate).format_version()
    }

    fn doc(&self, krate: &str) -> &Doc {
        &self.docs[krate]
    }

    fn item(&self, r: &ItemRef) -> &Value {
        self.doc(&r.0)
            .item(&r.1)
            .unwrap_or_else(|| panic!("no item {} in {}.json", r.1, r.0))
    }

    /// Resolves a reference (`id` in crate `krate`'s JSON) to the item,
    /// in whichever listed crate defines it.
    fn resolve(&self, krate: &str, id: &str) -> Option<ItemRef> {
        let doc = self.doc(krate);
        if doc.item(id).is_some_and(|i| i["crate_id"] == 0) {
            return Some((krate.to_string(), id.to_string()));
        }
        let summary = doc.json["paths"].get(id)?;
        let owner = doc.crate_name(&summary["crate_id"])?;
        let other = self.docs.get(&owner)?;
        let kind = namespace(summary["kind"].as_str().unwrap_or_default());
        let key = (join(&summary["path"]), kind.to_string());
        other
            .by_path
            .get(&key)
            .map(|id| (owner.clone(), id.clone()))
    }

    /// The entries of a module: (name, target), globs expanded.
    fn module_entries(
        &self,
        module: &ItemRef,
        seen: &mut HashSet<ItemRef>,
    ) -> Vec<(String, Target)> {
        let mut entries = Vec::new();
        if !seen.insert(module.clone()) {
            return entries;
        }
        let item = self.item(module);
        let children = match inner(item, "module") {
            Some(m) => m["items"].as_array().cloned().unwrap_or_default(),
            // A glob of an enum's variants: not public API of its own.
            None => return entries,
        };
        for child in children {
            let id = id_of(&child);
            let Some(child_item) = self.doc(&module.0).item(&id) else {
                continue;
            };
            if child_item["visibility"] != "public" {
                continue;
            }
            if let Some(u) = inner(child_item, "use") {
                let target = match u["id"].as_null() {
                    Some(()) => None,
                    None => self.resolve(&module.0, &id_of(&u["id"])),
                };
                if u["is_glob"] == true {
                    if let Some(target) = target {
                        entries.extend(self.module_entries(&target, seen));
                    }
                    continue;
                }
                let name = str_of(&u["name"]);
                match target {
                    Some(t) => entries.push((name, Target::Item(t))),
                    None => {
                        let source = match u["id"].as_null() {
                            Some(()) => str_of(&u["source"]),
                            None => self
                                .doc(&module.0)
                                .def_path(&id_of(&u["id"]))
                                .unwrap_or_else(|| str_of(&u["source"])),
                        };
                        entries.push((name, Target::Foreign(source)));
                    }
                }
            } else if let Some(name) = child_item["name"].as_str() {
                entries.push((name.to_string(), Target::Item((module.0.clone(), id))));
            }
        }
        entries
    }

    /// Every public path of crate `krate`, breadth first from its root so the
    /// first path found for an item is a shortest one.
    fn walk_names(&self, krate: &str) -> Names {
        let mut names = Names::default();
        let root: ItemRef = (krate.to_string(), self.doc(krate).root());
        names.canonical.insert(root.clone(), krate.to_string());
        let mut queue = VecDeque::from([(root, krate.to_string())]);
        while let Some((module, path)) = queue.pop_front() {
            let mut entries = self.module_entries(&module, &mut HashSet::new());
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, target) in entries {
                let child_path = format!("{path}::{name}");
                match target {
                    Target::Foreign(source) => {
                        names
                            .by_def_path
                            .entry(source.clone())
                            .or_insert(child_path.clone());
                        names.foreign.push((child_path, source));
                    }
                    Target::Item(r) => {
                        names.all.push((child_path.clone(), r.clone()));
                        if names.canonical.contains_key(&r) {
                            continue;
                        }
                        names.canonical.insert(r.clone(), child_path.clone());
                        if let Some(def) = self.doc(&r.0).def_path(&r.1) {
                            names.by_def_path.entry(def).or_insert(child_path.clone());
                        }
                        if inner(self.item(&r), "module").is_some() {
                            queue.push_back((r, child_path));
                        }
                    }
                }
            }
        }
        names
    }

    /// The sorted listing of crate `krate`.
    fn listing(&self, krate: &str) -> Vec<String> {
        let names = &self.names[krate];
        let mut out = Out {
            docs: self,
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
}

/// The lines of one listing, each with the key it sorts by.
struct Out<'a> {
    docs: &'a Docs,
    /// The listed crate.
    krate: &'a str,
    /// Line to sort key (the path it belongs under).
    lines: BTreeMap<String, String>,
}

impl Out<'_> {
    fn push(&mut self, key: &str, line: String) {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        match self.lines.get_mut(&line) {
            Some(k) if k.as_str() <= key => {}
            Some(k) => *k = key.to_string(),
            None => {
                self.lines.insert(line, key.to_string());
            }
        }
    }

    fn ty(&self, krate: &str) -> Render<'_> {
        Render {
            docs: self.docs,
            listed: self.krate,
            doc: krate.to_string(),
        }
    }

    /// The lines of item `r`, named `path`.
    fn item(&mut self, r: &ItemRef, path: &str) {
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

    fn field_type(&self, krate: &str, id: &str) -> String {
        match self.docs.doc(krate).item(id) {
            Some(field) => self.ty(krate).ty(&field["inner"]["struct_field"]),
            None => "_".to_string(),
        }
    }

    fn variant(&self, krate: &str, variant: &Value, vpath: &str) -> String {
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
    fn member(&self, krate: &str, member: &Value, mpath: &str, in_trait: bool) -> String {
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
    fn impls(&mut self, r: &ItemRef, path: &str, impls: &Value) {
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
    fn trait_impl(&mut self, krate: &str, id: &str, key: &str) {
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

/// Renders types and signatures found in one crate's JSON, naming items by
/// their public paths in the listed crate.
struct Render<'a> {
    docs: &'a Docs,
    listed: &'a str,
    doc: String,
}

impl Render<'_> {
    fn name(&self, id: &Value, written: &str) -> String {
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

    fn path(&self, p: &Value) -> String {
        let name = self.name(&p["id"], p["path"].as_str().unwrap_or_default());
        format!("{name}{}", self.args(&p["args"]))
    }

    fn args(&self, args: &Value) -> String {
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

    fn term(&self, term: &Value) -> String {
        match only(term) {
            ("type", t) => self.ty(t),
            ("constant", c) => self.constant(c),
            (_, v) => compact(v),
        }
    }

    fn constant(&self, c: &Value) -> String {
        match c["value"].as_str() {
            Some(v) => v.to_string(),
            None => str_of(&c["expr"]),
        }
    }

    fn ty(&self, t: &Value) -> String {
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

    fn poly_trait(&self, p: &Value) -> String {
        format!(
            "{}{}",
            self.hrtb(&p["generic_params"]),
            self.path(&p["trait"])
        )
    }

    fn hrtb(&self, params: &Value) -> String {
        let params: Vec<String> = array(params).iter().filter_map(|p| self.param(p)).collect();
        if params.is_empty() {
            String::new()
        } else {
            format!("for<{}> ", params.join(", "))
        }
    }

    fn bounds(&self, bounds: &Value) -> String {
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
    fn param(&self, p: &Value) -> Option<String> {
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
    fn generics(&self, g: &Value) -> (String, String) {
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

    fn header(&self, h: &Value) -> String {
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
    fn sig(&self, sig: &Value) -> String {
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

    fn function(&self, f: &Value, path: &str) -> String {
        let (params, wheres) = self.generics(&f["generics"]);
        let header = self.header(&f["header"]);
        let sig = self.sig(&f["sig"]);
        format!("{header}fn {path}{params}{sig}{wheres}")
    }
}

/// The attributes that are part of an item's API.
fn attributes(item: &Value) -> String {
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
const AUTO_TRAITS: &[&str] = &[
    "std::marker::Send",
    "std::marker::Sync",
    "std::marker::Unpin",
    "std::panic::UnwindSafe",
    "std::panic::RefUnwindSafe",
];

/// The path of a standard library item as users write it, not where it is
/// defined (which changes between Rust releases): `std::`, its top module,
/// its name (`core::future::future::Future` is `std::future::Future`).
fn std_path(def: String) -> String {
    let parts: Vec<&str> = def.split("::").collect();
    match parts.as_slice() {
        ["core" | "alloc" | "std", name] => format!("std::{name}"),
        ["core" | "alloc" | "std", module, .., name] => format!("std::{module}::{name}"),
        _ => def,
    }
}

/// An item kind, with the kinds of macros (named differently in `paths`
/// and in `index`) made one.
fn namespace(kind: &str) -> &str {
    match kind {
        "macro" | "proc_macro" | "proc_derive" | "proc_attribute" => "macro",
        other => other,
    }
}

/// The one key and value of an externally tagged enum's object.
fn only(v: &Value) -> (&str, &Value) {
    static NULL: Value = Value::Null;
    match v {
        Value::Object(o) if o.len() == 1 => {
            let (k, v) = o.iter().next().unwrap();
            (k.as_str(), v)
        }
        Value::String(s) => (s.as_str(), &NULL),
        _ => ("", v),
    }
}

fn inner<'a>(item: &'a Value, kind: &str) -> Option<&'a Value> {
    item["inner"]
        .as_object()
        .and_then(|o: &Map<String, Value>| o.get(kind))
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn id_of(v: &Value) -> String {
    str_of(v)
}

fn join(path: &Value) -> String {
    array(path)
        .iter()
        .map(str_of)
        .collect::<Vec<_>>()
        .join("::")
}

/// A value of a shape this reader does not know, still deterministic.
fn compact(v: &Value) -> String {
    v.to_string()
}
