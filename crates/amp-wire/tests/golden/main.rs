//! Golden tests against the pinned Twisted: `interop/golden.py` prints what
//! Twisted writes and reads; every case must match byte for byte.
//!
//! The interpreter is `$AMP_PYTHON`, else `<workspace>/interop/.venv/bin/python`
//! (created by `scripts/setup-interop.sh`). A missing interpreter fails the
//! test: these checks are never skipped silently.
//!
//! Files: this one runs golden.py and reads its output; `describe.rs`
//! describes values as golden.py does; `cases.rs` holds the golden cases;
//! `random.rs` has Python parse our encodings of random values.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

mod cases;
mod describe;
mod random;

// ---------------------------------------------------------------- plumbing

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let p = match std::env::var_os("AMP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace().join("interop/.venv/bin/python"),
    };
    assert!(
        p.exists(),
        "the golden tests need the pinned Twisted interpreter at {} (not found). \
         Run scripts/setup-interop.sh (or set AMP_PYTHON to a python with \
         Twisted 26.10.0 installed).",
        p.display()
    );
    p
}

fn run_script(args: &[&str], stdin: &[u8]) -> String {
    let script = workspace().join("interop/golden.py");
    let mut child = Command::new(python())
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        input.write_all(&stdin).expect("write to golden.py");
    });
    let out = child.wait_with_output().expect("golden.py output");
    writer.join().expect("stdin writer");
    assert!(
        out.status.success(),
        "golden.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("golden.py prints UTF-8")
}

/// A tiny JSON reader, enough for golden.py's output (objects whose values
/// are strings, inside one array or one per line).
struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) {
        assert!(self.eat(c), "JSON: expected {:?} at {}", c as char, self.i);
    }
    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            out.push(char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap());
                        }
                        other => out.push(other as char),
                    }
                }
                _ => out.push(c as char),
            }
        }
    }
    fn object(&mut self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        self.expect(b'{');
        if self.eat(b'}') {
            return m;
        }
        loop {
            let k = self.string();
            self.expect(b':');
            let v = self.string();
            m.insert(k, v);
            if self.eat(b'}') {
                return m;
            }
            self.expect(b',');
        }
    }
    fn array_of_objects(&mut self) -> Vec<HashMap<String, String>> {
        let mut v = Vec::new();
        self.expect(b'[');
        if self.eat(b']') {
            return v;
        }
        loop {
            v.push(self.object());
            if self.eat(b']') {
                return v;
            }
            self.expect(b',');
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ASCII hex");
            assert_eq!(pair.len(), 2, "odd hex {s:?}");
            u8::from_str_radix(pair, 16).expect("hex")
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

fn utf8_hex(s: &str) -> String {
    hex(s.as_bytes())
}

fn from_hex_utf8(h: &str) -> String {
    String::from_utf8(unhex(h)).expect("utf-8")
}
