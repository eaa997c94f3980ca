//! The rustdoc JSON of the listed crates, and the public paths of their
//! items (walked from each crate's root).

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// One crate's rustdoc JSON.
pub(crate) struct Doc {
    pub(crate) json: Value,
    /// Definition path (`amp_wire::ambox::AmpBox`) and kind of this crate's
    /// own items, to their ids: how other crates' references are resolved.
    pub(crate) by_path: HashMap<(String, String), String>,
}

impl Doc {
    pub(crate) fn new(name: &str, json: Value) -> Doc {
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

    pub(crate) fn add_tree_paths(&mut self, module: &str, path: &str) {
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

    pub(crate) fn format_version(&self) -> String {
        str_of(&self.json["format_version"])
    }

    pub(crate) fn item(&self, id: &str) -> Option<&Value> {
        self.json["index"].get(id)
    }

    pub(crate) fn root(&self) -> String {
        id_of(&self.json["root"])
    }

    /// The definition path of a referenced item, from `paths`.
    pub(crate) fn def_path(&self, id: &str) -> Option<String> {
        self.json["paths"].get(id).map(|s| join(&s["path"]))
    }

    pub(crate) fn crate_name(&self, crate_id: &Value) -> Option<String> {
        if *crate_id == 0 {
            return self.def_path(&self.root());
        }
        self.json["external_crates"]
            .get(id_of(crate_id))
            .map(|c| str_of(&c["name"]))
    }
}

/// An item: its crate (by name) and its id in that crate's JSON.
pub(crate) type ItemRef = (String, String);

/// What a module entry names.
pub(crate) enum Target {
    Item(ItemRef),
    /// An item of a crate not listed here (`rustls::...`): its path.
    Foreign(String),
}

pub(crate) struct Docs {
    pub(crate) docs: BTreeMap<String, Doc>,
    /// For each listed crate: its public items, each under its shortest path,
    /// and the other paths they are reachable by.
    pub(crate) names: BTreeMap<String, Names>,
}

#[derive(Default)]
pub(crate) struct Names {
    /// Each reachable item, under its first (shortest) public path.
    pub(crate) canonical: HashMap<ItemRef, String>,
    /// Every public path of every item, in the order found.
    pub(crate) all: Vec<(String, ItemRef)>,
    /// Re-exported items of crates not listed: path, source path.
    pub(crate) foreign: Vec<(String, String)>,
    /// Definition path of an item to its public path, for rendering types.
    pub(crate) by_def_path: HashMap<String, String>,
}

impl Docs {
    pub(crate) fn new(docs: BTreeMap<String, Doc>) -> Docs {
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

    pub(crate) fn format_version(&self, krate: &str) -> String {
        self.doc(krate).format_version()
    }

    pub(crate) fn doc(&self, krate: &str) -> &Doc {
        &self.docs[krate]
    }

    pub(crate) fn item(&self, r: &ItemRef) -> &Value {
        self.doc(&r.0)
            .item(&r.1)
            .unwrap_or_else(|| panic!("no item {} in {}.json", r.1, r.0))
    }

    /// Resolves a reference (`id` in crate `krate`'s JSON) to the item,
    /// in whichever listed crate defines it.
    pub(crate) fn resolve(&self, krate: &str, id: &str) -> Option<ItemRef> {
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
    pub(crate) fn module_entries(
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
    pub(crate) fn walk_names(&self, krate: &str) -> Names {
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
}

/// An item kind, with the kinds of macros (named differently in `paths`
/// and in `index`) made one.
pub(crate) fn namespace(kind: &str) -> &str {
    match kind {
        "macro" | "proc_macro" | "proc_derive" | "proc_attribute" => "macro",
        other => other,
    }
}

/// The one key and value of an externally tagged enum's object.
pub(crate) fn only(v: &Value) -> (&str, &Value) {
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

pub(crate) fn inner<'a>(item: &'a Value, kind: &str) -> Option<&'a Value> {
    item["inner"]
        .as_object()
        .and_then(|o: &Map<String, Value>| o.get(kind))
}

pub(crate) fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub(crate) fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn id_of(v: &Value) -> String {
    str_of(v)
}

pub(crate) fn join(path: &Value) -> String {
    array(path)
        .iter()
        .map(str_of)
        .collect::<Vec<_>>()
        .join("::")
}

/// A value of a shape this reader does not know, still deterministic.
pub(crate) fn compact(v: &Value) -> String {
    v.to_string()
}
