//! What the `amp` binary's end-to-end tests share: the binary, the pinned
//! Python with Twisted, and long-running processes (an `amp serve`, a
//! Twisted peer) killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a process may take to say it is ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The `amp` binary under test.
pub fn amp_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_amp"))
}

/// `amp ARGS...` ready for assert_cmd, run in a fresh empty directory (no
/// `.amp.json` picked up by accident) with no `AMP_SCHEMA`.
pub fn amp() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(amp_bin());
    c.env_remove("AMP_SCHEMA")
        .env_remove("RUST_LOG")
        .current_dir(empty_dir())
        .timeout(Duration::from_secs(60));
    c
}

/// An empty directory, the same for the whole test process (removed when
/// the system cleans its temporary files): where `amp` runs, so that no
/// `.amp.json` lying in the shared temporary directory is picked up.
pub fn empty_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// The Python with the pinned Twisted: `$AMP_PYTHON`, else
/// `<workspace>/interop/.venv/bin/python`. Panics (the test fails, it is
/// never skipped) if it is missing.
pub fn python() -> PathBuf {
    let p = match std::env::var_os("AMP_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace().join("interop/.venv/bin/python"),
    };
    assert!(
        p.is_file(),
        "these tests need Python with Twisted, and {} does not exist: \
         run scripts/setup-interop.sh (or set AMP_PYTHON)",
        p.display()
    );
    p
}

/// Path of a script in `<workspace>/interop/`.
pub fn script(name: &str) -> PathBuf {
    let p = workspace().join("interop").join(name);
    assert!(p.is_file(), "missing interop script {}", p.display());
    p
}

/// Twisted's documented example `name` (ampserver.py, ampclient.py),
/// taken from the sdist by scripts/setup-interop.sh.
pub fn twisted_example(name: &str) -> PathBuf {
    let dir = match std::env::var_os("AMP_TWISTED_EXAMPLES") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace().join("interop/.venv/twisted-examples"),
    };
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "missing {}: run scripts/setup-interop.sh",
        p.display()
    );
    p
}

/// A running process: its stdout lines as they come, stderr collected,
/// stdin held open (Twisted peers exit when it closes); killed when
/// dropped.
pub struct Proc {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Proc {
    /// Starts `program args...` in `dir`.
    pub fn spawn(program: &Path, args: &[&str], dir: &Path) -> Proc {
        let what = format!("{} {}", program.display(), args.join(" "));
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("AMP_SCHEMA")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {what}: {e}"));
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let so = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                so.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let se = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match err.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => se
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        Proc {
            what,
            child,
            stdin,
            lines,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// Starts `amp args...` (in [`empty_dir`]).
    pub fn amp(args: &[&str]) -> Proc {
        Proc::spawn(&amp_bin(), args, empty_dir())
    }

    /// Starts the pinned Python on `script args...` (in `interop/`).
    pub fn python(script_path: &Path, args: &[&str]) -> Proc {
        let mut all = vec!["-u".to_owned(), script_path.display().to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
        Proc::spawn(&python(), &all, &workspace().join("interop"))
    }

    /// Waits for a stdout line starting with `prefix`; returns the rest of
    /// it. Panics (with everything the process wrote) after
    /// `READY_TIMEOUT` or if the process ends first.
    pub fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(e) => panic!(
                    "{}: no line starting with {prefix:?} ({e:?}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.what,
                    self.stdout(),
                    self.stderr()
                ),
            }
        }
    }

    /// Waits for `listening on ADDR` (what every `amp` server prints) and
    /// returns ADDR.
    pub fn listening(&mut self) -> String {
        self.wait_for("listening on ")
    }

    /// Waits for `PORT <n>` (what the Twisted peers print) and returns
    /// `127.0.0.1:<n>`.
    pub fn port(&mut self) -> String {
        format!("127.0.0.1:{}", self.wait_for("PORT "))
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Closes stdin (Twisted peers then stop) and waits for the exit,
    /// killing the process after `READY_TIMEOUT`; returns whether it
    /// exited 0.
    pub fn finish(mut self) -> bool {
        self.stdin.take();
        let deadline = std::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`INT`, `TERM`) to the process with kill(1).
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {}", self.what);
    }

    /// Sends `signal` (`INT`, `TERM`), waits for the exit (killing the
    /// process after `READY_TIMEOUT`), and returns its status with
    /// everything it wrote to stdout and stderr.
    pub fn stop(mut self, signal: &str) -> (std::process::ExitStatus, String, String) {
        self.signal(signal);
        let deadline = std::time::Instant::now() + READY_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        (status, self.stdout(), self.stderr())
    }

    /// Sends SIGTERM-like stop (kill) and waits.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port on 127.0.0.1 where nothing listens, and the socket that
/// holds it: bound but never listening, so connections to it are refused
/// and no other test can take the port while the socket lives.
pub fn closed_port() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("its address");
    (socket, addr)
}
