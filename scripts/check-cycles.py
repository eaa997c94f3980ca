#!/usr/bin/env python3
"""Fail when the files of a crate import each other in a cycle.

Usage: scripts/check-cycles.py CRATE/src [CRATE/src ...]

For each source directory, every crate root in it (lib.rs, main.rs,
bin/*.rs) is read, and its module tree is followed through `mod`
declarations (`#[path]` included). Each file is a node; file A depends on
file B when A names an item of B:

* in a `use` declaration, whatever its visibility (`pub(crate) use ...`)
  and nesting (`use super::{a, b::{c, self}}`, `as` renames);
* in a qualified path in code (`crate::x::f()`, `super::T`, `child::U`,
  or a path through a name that a `use` brought in).

A path is followed through re-exports to the file that defines the item:
`crate::AmpBox` is `ambox.rs`'s, not `lib.rs`'s, so a re-export from a
parent hides no dependency. A file naming its own ancestor module (a
submodule using `super::Parent`) is not counted: that is how a module's
files are split. Test code may use anything and is left out: items under
`#[cfg(test)]` (`mod tests { ... }`, `#[cfg(test)] mod x;`) and any module
named `tests` (`tests.rs`, `tests/`).

Each group of files that depend on each other in a circle is printed with
cycles through every edge inside it, each edge with the line that makes it;
the exit status is 1 if there is any, else 0.

Limits: files are read as text (comments and literals skipped), not
compiled, so the graph is an approximation. Paths made by macros
(`$crate::...` bodies are read as written, but what a macro expands to is
not), or named in strings (`#[serde(try_from = "Raw")]`) are not seen; a
glob import (`use x::*`) is followed only to items the target declares by
name (struct, fn, mod, ...); `cfg` conditions other than `test` are
ignored (both sides count); and an item is attributed to a file, not to
the inline module within it.
"""

import os
import re
import sys
from collections import deque

ITEM_KEYWORDS = {"struct", "enum", "union", "trait", "fn", "const", "static", "type"}


# --- Tokens ------------------------------------------------------------------


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind  # "id", "lit", "life", "p" (punctuation)
        self.text = text
        self.line = line


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"[0-9][A-Za-z0-9_.]*")


def tokenize(src):
    """Rust tokens, with comments dropped and literals kept whole."""
    toks = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            line += src.count("\n", i, j)
            i = j
        elif re.match(r'(b|c)?r#*"', src[i:i + 260]):
            m = re.match(r'(b|c)?r(#*)"', src[i:])
            end = '"' + m.group(2)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            toks.append(Tok("lit", src[i + m.end():j - len(end)], line))
            line += src.count("\n", i, j)
            i = j
        elif c == '"' or (c in "bc" and src.startswith('"', i + 1)):
            j = i + (1 if c == '"' else 2)
            start = j
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            toks.append(Tok("lit", src[start:j], line))
            line += src.count("\n", i, j)
            i = j + 1
        elif c == "'" or (c == "b" and src.startswith("'", i + 1)):
            # A char literal ('a', '\n', b'x', '\u{1F600}') or a lifetime ('a).
            j = i + (1 if c == "'" else 2)
            m = re.match(r"(\\(u\{[0-9a-fA-F]*\}|x..|.)|[^\\'])'", src[j:j + 12])
            if m:
                toks.append(Tok("lit", src[j:j + m.end() - 1], line))
                i = j + m.end()
            else:
                m = IDENT.match(src, j)
                toks.append(Tok("life", m.group() if m else "", line))
                i = m.end() if m else j
        elif c == "r" and src.startswith("r#", i) and IDENT.match(src, i + 2):
            m = IDENT.match(src, i + 2)
            toks.append(Tok("id", m.group(), line))
            i = m.end()
        elif IDENT.match(src, i):
            m = IDENT.match(src, i)
            toks.append(Tok("id", m.group(), line))
            i = m.end()
        elif NUMBER.match(src, i):
            m = NUMBER.match(src, i)
            toks.append(Tok("lit", m.group(), line))
            i = m.end()
        elif src.startswith("::", i):
            toks.append(Tok("p", "::", line))
            i += 2
        else:
            toks.append(Tok("p", c, line))
            i += 1
    return toks


def matching(toks, i):
    """Index of the bracket closing the one at `i`."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[toks[i].text]]
    j = i + 1
    while j < len(toks) and stack:
        t = toks[j]
        if t.kind == "p":
            if t.text in pairs:
                stack.append(pairs[t.text])
            elif t.text == stack[-1]:
                stack.pop()
        j += 1
    return j - 1


ITEM_STARTS = ITEM_KEYWORDS | {"pub", "mod", "use", "impl", "extern", "unsafe", "async", "macro_rules"}


def item_end(toks, i):
    """Index of the last token of the item starting at `i`: its `;` or the
    `}` closing its body, whichever comes first at the top level; for what
    is not an item (a field, a match arm, a statement), its `,` too. Stops
    before a bracket closing what encloses it."""
    comma_ends = toks[i].text not in ITEM_STARTS
    j = i
    while j < len(toks):
        t = toks[j]
        if t.kind == "p" and t.text in ("(", "[", "{"):
            close = matching(toks, j)
            if t.text == "{":
                return close
            j = close + 1
        elif t.kind == "p" and (t.text == ";" or (comma_ends and t.text == ",")):
            return j
        elif t.kind == "p" and t.text in (")", "]", "}"):
            return j - 1
        else:
            j += 1
    return len(toks) - 1


def statement_end(toks, i):
    """Index of the `;` ending the statement starting at `i`."""
    j = i
    while j < len(toks) and not (toks[j].kind == "p" and toks[j].text == ";"):
        if toks[j].kind == "p" and toks[j].text in ("(", "[", "{"):
            j = matching(toks, j)
        j += 1
    return j


# --- Modules -----------------------------------------------------------------


class Module:
    """A module: a file, or an inline `mod x { ... }` within one."""

    def __init__(self, name, parent, file):
        self.name = name
        self.parent = parent
        self.file = file
        self.children = {}
        self.imports = {}  # name -> (module written in, path segments)
        self.globs = []  # (module written in, path segments)
        self.defs = set()
        self.paths = []  # (module written in, segments, line, is_use)

    def path(self):
        names, m = [], self
        while m.parent is not None:
            names.append(m.name)
            m = m.parent
        return "::".join(reversed(names))


def is_cfg_test(attr):
    """Whether an attribute keeps its item to test builds."""
    texts = [t.text for t in attr]
    return texts[:2] == ["cfg", "("] and "test" in texts and "not" not in texts


def attr_path(attr):
    """The file a `#[path = "..."]` attribute names, if it is one."""
    if len(attr) == 3 and attr[0].text == "path" and attr[1].text == "=":
        return attr[2].text
    return None


class Crate:
    """One crate's module tree, read from its root file."""

    def __init__(self, root_file):
        self.lines = {}
        self.root = Module("", None, root_file)
        self.load(self.root, root_file, mod_rs=True)

    def load(self, module, path, mod_rs):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        self.lines[path] = src.split("\n")
        toks = tokenize(src)
        # Where the files of this module's children live.
        base = os.path.dirname(path)
        if not mod_rs:
            base = os.path.join(base, os.path.splitext(os.path.basename(path))[0])
        self.scan(module, toks, 0, len(toks), base)

    def scan(self, module, toks, i, end, child_dir):
        attrs = []
        while i < end:
            t = toks[i]
            if t.kind == "p" and t.text == "#" and i + 1 < end:
                j = i + 1
                if toks[j].text == "!":
                    j += 1
                if toks[j].text == "[":
                    close = matching(toks, j)
                    if toks[i + 1].text != "!":
                        attrs.append(toks[j + 1:close])
                    i = close + 1
                    continue
            if any(is_cfg_test(a) for a in attrs):
                i = item_end(toks, i) + 1
                attrs = []
                continue
            item_attrs, attrs = attrs, []
            j = i
            if t.text == "pub":  # pub, pub(crate), pub(super), pub(in x)
                j += 1
                if j < end and toks[j].text == "(":
                    j = matching(toks, j) + 1
            kw = toks[j].text if j < end else ""
            if kw == "mod" and toks[j + 1].kind == "id":
                name = toks[j + 1].text
                if name == "tests":
                    i = item_end(toks, j) + 1
                elif toks[j + 2].text == "{":
                    close = matching(toks, j + 2)
                    child = Module(name, module, module.file)
                    module.children[name] = child
                    self.scan(child, toks, j + 3, close, os.path.join(child_dir, name))
                    i = close + 1
                else:
                    self.load_child(module, name, child_dir, item_attrs)
                    i = j + 3
                continue
            if kw == "use":
                close = statement_end(toks, j)
                for segs, alias, glob in use_tree(toks[j + 1:close]):
                    if glob:
                        module.globs.append((module, segs))
                    else:
                        name = alias or segs[-1]
                        if name != "_":
                            module.imports[name] = (module, segs)
                    module.paths.append((module, segs, toks[j].line, True))
                i = close + 1
                continue
            if kw in ITEM_KEYWORDS and j + 1 < end and toks[j + 1].kind == "id":
                module.defs.add(toks[j + 1].text)
            if kw == "macro_rules" and j + 2 < end:
                module.defs.add(toks[j + 2].text)
            if t.kind == "id" and not (i > 0 and toks[i - 1].text in ("::", ".")):
                segs, k = [t.text], i
                while k + 2 < end and toks[k + 1].text == "::" and toks[k + 2].kind == "id":
                    segs.append(toks[k + 2].text)
                    k += 2
                if len(segs) > 1:
                    module.paths.append((module, segs, t.line, False))
                i = k + 1
                continue
            i += 1

    def load_child(self, module, name, child_dir, attrs):
        explicit = next((attr_path(a) for a in attrs if attr_path(a)), None)
        if explicit:
            candidates = [(os.path.join(child_dir, explicit), True)]
        else:
            candidates = [
                (os.path.join(child_dir, name + ".rs"), False),
                (os.path.join(child_dir, name, "mod.rs"), True),
            ]
        for path, mod_rs in candidates:
            if os.path.exists(path):
                child = Module(name, module, path)
                module.children[name] = child
                self.load(child, path, mod_rs)
                return

    def modules(self):
        todo = [self.root]
        while todo:
            m = todo.pop()
            yield m
            todo.extend(m.children.values())

    # --- Resolution ----------------------------------------------------------

    def resolve(self, here, segs, seen=()):
        """The module `segs` (written in `here`) leads to, and whether every
        segment was a module; None for another crate's path."""
        node = here
        first = True
        for idx, s in enumerate(segs):
            if s == "crate" and first:
                node = self.root
            elif s == "super":
                node = node.parent or node
            elif s == "self" or s == "Self":
                if s == "Self":
                    return node, False
            elif s in node.children:
                node = node.children[s]
            else:
                target = node.imports.get(s)
                if target is None and s not in node.defs:
                    target = self.through_glob(node, s, seen)
                if target is None or (node, s) in seen:
                    if first:
                        return None  # another crate, a prelude or local name
                    return node, False
                res = self.resolve(target[0], target[1], seen + ((node, s),))
                if res is None:
                    return None if first else (node, False)
                node, exact = res
                if not exact:
                    return node, False
            first = False
        return node, True

    def through_glob(self, node, name, seen):
        if (node, "*") in seen:
            return None
        for here, segs in node.globs:
            res = self.resolve(here, segs, seen + ((node, "*"),))
            if res and res[1]:
                m = res[0]
                if name in m.children or name in m.defs or name in m.imports:
                    return (m, [name])
        return None

    def edges(self):
        """{file: {file: (line number, line text)}}, first line only."""
        out = {}
        for m in self.modules():
            for here, segs, line, is_use in m.paths:
                first = segs[0]
                if not is_use and first not in ("crate", "super", "self", "Self"):
                    if first not in here.children and first not in here.imports:
                        continue
                res = self.resolve(here, segs)
                if res is None:
                    continue
                target = res[0]
                if target.file == m.file or is_ancestor(target, m):
                    continue
                text = self.lines[m.file][line - 1].strip()
                out.setdefault(m.file, {}).setdefault(target.file, (line, text))
        return out


def is_ancestor(target, module):
    """Whether `target`'s file is the file of one of `module`'s ancestors."""
    m = module.parent
    while m is not None:
        if m.file == target.file:
            return True
        m = m.parent
    return False


def use_tree(toks):
    """(segments, alias, is_glob) for each path a `use` brings in."""
    out = []

    def walk(i, prefix, end):
        segs = list(prefix)
        while i < end:
            t = toks[i]
            if t.text == "::":
                i += 1
            elif t.kind == "p" and t.text == "{":
                close = matching(toks, i)
                start = i + 1
                depth_items = []
                j, k = start, start
                while j < close:
                    if toks[j].kind == "p" and toks[j].text in ("(", "[", "{"):
                        j = matching(toks, j) + 1
                        continue
                    if toks[j].text == ",":
                        depth_items.append((k, j))
                        k = j + 1
                    j += 1
                depth_items.append((k, close))
                for a, b in depth_items:
                    if a < b:
                        walk(a, segs, b)
                return
            elif t.text == "*":
                out.append((segs, None, True))
                return
            elif t.text == "as":
                alias = toks[i + 1].text
                out.append((segs, alias, False))
                return
            elif t.kind == "id":
                if t.text == "self" and segs and segs[-1] != "self" and len(segs) == len(prefix):
                    pass  # `{self, ...}`: the prefix itself
                else:
                    segs.append(t.text)
                i += 1
            else:
                i += 1
        if segs:
            out.append((segs, None, False))

    walk(0, [], len(toks))
    return out


# --- Cycles ------------------------------------------------------------------


def strongly_connected(nodes, edges):
    index, low, on, stack, groups = {}, {}, set(), [], []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                group = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    group.append(w)
                    if w == v:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def shortest_path(edges, group, src, dst):
    prev = {src: None}
    queue = deque([src])
    while queue:
        v = queue.popleft()
        if v == dst:
            break
        for w in sorted(edges.get(v, ())):
            if w in group and w not in prev:
                prev[w] = v
                queue.append(w)
    path, v = [], dst
    while v is not None:
        path.append(v)
        v = prev[v]
    return list(reversed(path))


def check(src_dir):
    roots = [os.path.join(src_dir, f) for f in ("lib.rs", "main.rs")]
    bin_dir = os.path.join(src_dir, "bin")
    if os.path.isdir(bin_dir):
        roots += [os.path.join(bin_dir, f) for f in sorted(os.listdir(bin_dir)) if f.endswith(".rs")]
    found = 0
    for root in roots:
        if not os.path.exists(root):
            continue
        crate = Crate(root)
        edges = crate.edges()
        files = sorted({m.file for m in crate.modules()})

        def rel(path):
            return os.path.relpath(path, src_dir)

        groups = strongly_connected(files, edges)
        for group in groups:
            found += 1
            members = set(group)
            print(f"{rel(root)}: import cycle between {len(group)} files: "
                  + ", ".join(rel(f) for f in group))
            covered = set()
            for a in group:
                for b in sorted(edges.get(a, ())):
                    if b not in members or (a, b) in covered:
                        continue
                    cycle = [a] + shortest_path(edges, members, b, a)
                    print("  cycle:")
                    for x, y in zip(cycle, cycle[1:]):
                        covered.add((x, y))
                        line, text = edges[x][y]
                        print(f"    {rel(x)} -> {rel(y)}    {rel(x)}:{line}: {text}")
        if not groups:
            print(f"{rel(root)}: no import cycle ({len(files)} files)")
    return found


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2 if len(argv) < 2 else 0
    found = 0
    for src_dir in argv[1:]:
        print(f"== {src_dir}")
        found += check(src_dir)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
