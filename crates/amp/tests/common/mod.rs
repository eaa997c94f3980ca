//! Harness for the interoperability tests: runs the Twisted peers in
//! `interop/` with the pinned Twisted of `interop/.venv`.
//!
//! Tests never skip when Twisted is missing: they fail, telling you to run
//! `scripts/setup-interop.sh`.

#![allow(dead_code)]

pub mod certs;
pub mod double;
mod examples;
pub mod raw;

#[allow(unused_imports)]
pub use examples::example_binary;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a Python peer may take to start listening.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a test step may take before the test fails instead of hanging.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root (`<workspace>/crates/amp/../..`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The Python with the pinned Twisted: `$AMP_PYTHON`, else
/// `<workspace>/interop/.venv/bin/python`. Panics (the test fails, it is
/// never skipped) if it is missing.
pub fn python() -> PathBuf {
    let p = match std::env::var_os("AMP_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace().join("interop/.venv/bin/python"),
    };
    if !p.is_file() {
        panic!(
            "the interop tests need Python with Twisted, and {} does not exist: \
             run scripts/setup-interop.sh (or set AMP_PYTHON)",
            p.display()
        );
    }
    p
}

/// Path of a script in `<workspace>/interop/`.
pub fn script(name: &str) -> PathBuf {
    let p = workspace().join("interop").join(name);
    assert!(p.is_file(), "missing interop script {}", p.display());
    p
}

/// Await `fut`, failing the test (not hanging) after `STEP_TIMEOUT`.
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    within_for(STEP_TIMEOUT, what, fut).await
}

/// Await `fut`, failing the test after `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// A running Python script. Killed when dropped; its stdin is held open
/// until then (the serving scripts exit when stdin closes).
pub struct Py {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a script ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Panic with the whole output unless the script exited 0.
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed ({}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }

    /// Panic unless stdout has a line equal to `line`.
    pub fn assert_line(&self, line: &str) {
        assert!(
            self.stdout.lines().any(|l| l == line),
            "expected the line {line:?} in stdout.\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
    }

    /// Panic unless stdout has a line starting with `prefix`; returns it.
    pub fn line_starting(&self, prefix: &str) -> &str {
        match self.stdout.lines().find(|l| l.starts_with(prefix)) {
            Some(l) => l,
            None => panic!(
                "expected a line starting with {prefix:?} in stdout.\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.stdout, self.stderr
            ),
        }
    }
}

impl Py {
    /// Start `interop/<script> <args...>` with the pinned Python, stdout
    /// and stderr captured (unbuffered), stdin held open.
    pub fn spawn(script_name: &str, args: &[&str]) -> Py {
        let py = python();
        let path = script(script_name);
        let what = format!("{script_name} {}", args.join(" "));
        let mut child = Command::new(&py)
            .arg("-u")
            .arg(&path)
            .args(args)
            .current_dir(workspace().join("interop"))
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start {} {}: {e} (run scripts/setup-interop.sh)",
                    py.display(),
                    path.display()
                )
            });
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("stdout piped");
        let err = child.stderr.take().expect("stderr piped");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::unbounded_channel();
        let so = stdout.clone();
        let r1 = tokio::spawn(async move {
            let mut r = BufReader::new(out).lines();
            while let Ok(Some(line)) = r.next_line().await {
                {
                    let mut s = so.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
                let _ = tx.send(line);
            }
        });
        let se = stderr.clone();
        let r2 = tokio::spawn(async move {
            let mut err = err;
            let mut buf = [0u8; 8192];
            loop {
                match err.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => se
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        Py {
            what,
            child,
            stdin,
            lines,
            stdout,
            stderr,
            readers: vec![r1, r2],
        }
    }

    /// Start a serving script and wait for its `PORT <n>` line.
    pub async fn serve(script_name: &str, args: &[&str]) -> (Py, u16) {
        let mut py = Py::spawn(script_name, args);
        let port = py.port().await;
        (py, port)
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait (at most `READY_TIMEOUT`) for the readiness line `PORT <n>`.
    pub async fn port(&mut self) -> u16 {
        let line = self
            .wait_line(READY_TIMEOUT, |l| l.starts_with("PORT "))
            .await;
        line["PORT ".len()..]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{}: bad readiness line {line:?}: {e}", self.what))
    }

    /// Wait for the next stdout line matching `pred` (earlier lines are
    /// skipped, but kept in [`Py::stdout`]).
    pub async fn wait_line(&mut self, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(l)) if pred(&l) => return l,
                Ok(Some(_)) => continue,
                Ok(None) => {
                    // stdout closed: the script ended.
                    let status = within("the script to exit", self.child.wait()).await;
                    let stderr = self.drain_stderr().await;
                    panic!(
                        "{} ended ({status:?}) before printing the expected line \
                         (is Twisted installed? run scripts/setup-interop.sh).\n\
                         --- stdout ---\n{}\n--- stderr ---\n{stderr}",
                        self.what,
                        self.stdout()
                    );
                }
                Err(_) => panic!(
                    "{}: no expected line after {limit:?}.\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.what,
                    self.stdout(),
                    self.stderr()
                ),
            }
        }
    }

    async fn drain_stderr(&mut self) -> String {
        for r in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
        }
        self.stderr()
    }

    /// Wait (at most `limit`) for the script to exit on its own; returns its
    /// status and complete output.
    pub async fn finish(mut self, limit: Duration) -> Finished {
        let what = self.what.clone();
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(s) => s.expect("wait for python"),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
                let stderr = self.drain_stderr().await;
                panic!(
                    "{what} did not finish within {limit:?}.\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
                    self.stdout()
                );
            }
        };
        let stderr = self.drain_stderr().await;
        Finished {
            status,
            stdout: self.stdout(),
            stderr,
        }
    }

    /// Close the script's stdin (serving scripts then stop).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }
}
