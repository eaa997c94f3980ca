//! Python names and literals: turning schema text into identifiers that
//! never collide, and into string, bytes and docstring literals that read
//! back as the same text.

use std::collections::HashSet;

/// Python's keywords (3.9 and later; soft keywords such as `match` are
/// ordinary names).
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The words Twisted capitalizes when it turns a wire name into a Python
/// name (its own list, Python 2's keywords included).
const TWISTED_KEYWORDS: [&str; 29] = [
    "and", "del", "for", "is", "raise", "assert", "elif", "from", "lambda", "return", "break",
    "else", "global", "not", "try", "class", "except", "if", "or", "while", "continue", "exec",
    "import", "pass", "yield", "def", "finally", "in", "print",
];

/// Python's builtin exception classes present in every Python from 3.9
/// on, under their own names (`IOError` and `EnvironmentError` are left
/// out: they are other names of `OSError`, which is what Python reports).
const BUILTIN_EXCEPTIONS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Exception",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
];

/// Whether `name` is a Python keyword.
pub(super) fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Whether `name` is one of Python's builtin exception classes.
pub(super) fn is_builtin_exception(name: &str) -> bool {
    BUILTIN_EXCEPTIONS.contains(&name)
}

/// Whether `name` is a plain ASCII identifier (letters, digits, `_`, not
/// starting with a digit) and no keyword.
pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !is_keyword(name)
}

/// `text` as an ASCII identifier: every other character becomes `_`, a
/// leading digit gets a `_` before it, a keyword a `_` after it.
pub(super) fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c == '_' || c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

/// The key under which Twisted hands a value with wire name `wire` to
/// Python (`-` becomes `_`; one of its keywords is capitalized).
pub(super) fn twisted_key(wire: &str) -> String {
    let key = wire.replace('-', "_");
    if TWISTED_KEYWORDS.contains(&key.as_str()) {
        let mut chars = key.chars();
        match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => key,
        }
    } else {
        key
    }
}

/// The module-level names of one generated module: each name handed out
/// once, in the order asked, so the same schema always gives the same
/// names.
#[derive(Debug, Default)]
pub(super) struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// Marks `name` as used by something other than what is handed out.
    pub(super) fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_owned());
    }

    /// A fresh identifier for `wanted`: its sanitized form, else that with
    /// `_2`, `_3`, ... after it. Names beginning and ending with `__` are
    /// Python's own and never handed out, nor are those in `refused`.
    pub(super) fn take(&mut self, wanted: &str, refused: &[&str]) -> String {
        let base = sanitize(wanted);
        let free = |n: &str, taken: &HashSet<String>| {
            let python_own = n.starts_with("__") && n.ends_with("__");
            !(python_own || taken.contains(n) || refused.contains(&n))
        };
        let name = if free(&base, &self.taken) {
            base
        } else {
            (2..)
                .map(|n| format!("{base}_{n}"))
                .find(|n| free(n, &self.taken))
                .expect("an unused suffix")
        };
        self.taken.insert(name.clone());
        name
    }
}

/// `text` as a Python `str` literal in double quotes.
pub(super) fn str_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            other => escape_char(other, &mut out),
        }
    }
    out.push('"');
    out
}

/// `text`'s UTF-8 as a Python `bytes` literal in double quotes.
pub(super) fn bytes_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str("b\"");
    for &b in text.as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// One character of a `str` literal: backslash and control characters
/// escaped, anything else as it is (the module is UTF-8).
fn escape_char(c: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let n = c as u32;
            if n <= 0xff {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{n:04x}"));
            }
        }
        c => out.push(c),
    }
}

/// `doc` as a docstring whose lines after the first are indented by
/// `indent` (the indentation of the body it opens), ending with a newline:
/// Python's `inspect.cleandoc` (what `amp schema import` applies) gives
/// `doc` back whenever `doc` is already clean (no tabs, no margin of its
/// own, no blank lines or spaces around it).
pub(super) fn docstring(doc: &str, indent: &str) -> String {
    let chars: Vec<char> = doc.chars().collect();
    let mut body = String::new();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            // No run of three quotes, and none against the closing ones.
            '"' if chars.get(i + 1).is_none_or(|&n| n == '"') => body.push_str("\\\""),
            '\n' => {
                body.push('\n');
                if chars.get(i + 1).is_some_and(|&n| n != '\n') {
                    body.push_str(indent);
                }
            }
            other => escape_char(other, &mut body),
        }
    }
    if doc.contains('\n') {
        format!("{indent}\"\"\"{body}\n{indent}\"\"\"\n")
    } else {
        format!("{indent}\"\"\"{body}\"\"\"\n")
    }
}
