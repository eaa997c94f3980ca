//! A worker for a Python [ampoule](https://pypi.org/project/ampoule/)
//! process pool, in Rust: the pool runs it in place of its Python child.
//!
//! ampoule talks AMP to each child over two pipes: the child reads the
//! pool's boxes on fd 3 and writes its own on fd 4 (its stdout and stderr
//! end up in the pool's log). This worker answers the commands of
//! `ampoule.commands`, with the schemas ampoule declares:
//!
//! * `Ping() -> response: String`, answered `b"pong"`;
//! * `Echo(data: String) -> response: String`;
//! * `Shutdown()`, which the pool sends to stop a worker (when it stops, when
//!   it recycles a worker after `recycleAfter` calls, when it prunes idle
//!   ones): answered with an empty box, then the connection closes and the
//!   worker exits with status 0, as `ampoule.child.AMPChild` does;
//!
//! and one command of its own, as a real worker would have: `Sleep`, which
//! makes a call slow enough to show the pool's per-call timeouts.
//!
//! When the pool closes the pipes without a `Shutdown` it exits with status
//! 0 too (ampoule's Python child exits with -1 then); if the connection
//! fails (say the pool breaks the protocol), with 1.
//!
//! # Running it
//!
//! ampoule's default starter runs `python -c <bootstrap>`; hand the pool a
//! starter that runs this binary instead, with the same descriptors:
//!
//! ```python
//! from ampoule import main, pool
//! from twisted.internet import reactor
//!
//! EXE = "target/release/examples/ampoule_worker"
//!
//! class RustStarter(main.ProcessStarter):
//!     def startPythonProcess(self, prot, *args):
//!         reactor.spawnProcess(prot, EXE, [EXE], env=None,
//!                              childFDs={0: "w", 1: "r", 2: "r", 3: "w", 4: "r"})
//!         return prot.amp, prot.finished
//!
//! pp = pool.ProcessPool(starter=RustStarter(), min=2, max=4)
//! ```
//!
//! `interop/ampoule_pool.py` is such a pool, and puts this worker through
//! ampoule's paces:
//!
//! ```text
//! cargo build --example ampoule_worker
//! interop/.venv/bin/python interop/ampoule_pool.py target/debug/examples/ampoule_worker
//! ```

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::time::Duration;

use amp::pipes::Pipes;
use amp::{Command, Connection, Disconnect, Record, Router};
use bytes::Bytes;

/// `ampoule.commands.Ping`: no arguments, `response = [(b"response", String())]`.
#[derive(Command)]
#[amp(response = Response)]
struct Ping;

/// `ampoule.commands.Echo`: `arguments = [(b"data", String())]`.
#[derive(Command)]
#[amp(response = Response)]
struct Echo {
    data: Bytes,
}

/// The answer to `Ping` and `Echo`: `[(b"response", String())]`.
#[derive(Record)]
struct Response {
    response: Bytes,
}

/// `ampoule.commands.Shutdown`: no arguments, an empty answer (Twisted's
/// `responseType = QuitBox`: the child closes the connection once the
/// answer is sent).
#[derive(Command)]
struct Shutdown;

/// Not ampoule's: a command of this worker's own, as a pool's users define
/// theirs. Python: `arguments = [(b"milliseconds", Integer())]`, `response = []`.
#[derive(Command)]
struct Sleep {
    milliseconds: u64,
}

fn main() -> ExitCode {
    // Take fds 3 and 4 before anything else opens descriptors: started
    // without them, the tokio runtime would get 3 and 4 for itself.
    let (Some(read), Some(write)) = (inherited(3), inherited(4)) else {
        eprintln!("ampoule_worker: fds 3 and 4 are not open: run me from an ampoule pool");
        return ExitCode::from(2);
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(serve(read, write))
}

/// Descriptor `fd`, inherited from the pool, if it is open.
fn inherited(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: only asks the kernel about the number (EBADF if not open).
    rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(fd) }).ok()?;
    // SAFETY: it is open, ampoule opened it for us, and nothing else in
    // this process owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Answer the pool on `read`/`write` until it sends `Shutdown` or closes
/// the pipes.
async fn serve(read: OwnedFd, write: OwnedFd) -> ExitCode {
    let pipes = match Pipes::new(read, write) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ampoule_worker: fds 3/4: {e}");
            return ExitCode::from(2);
        }
    };

    let router = Router::new()
        .route(|_: Ping, _| async {
            Ok(Response {
                response: Bytes::from_static(b"pong"),
            })
        })
        .route(|e: Echo, _| async move { Ok(Response { response: e.data }) })
        .route(|_: Shutdown, ctx| async move {
            // Like a QuitBox: close once the answer is out. The answer is
            // queued as this responder returns; `close` then writes what is
            // queued before shutting the pipes.
            let conn = ctx.peer().clone();
            tokio::spawn(async move { conn.close().await });
            Ok(())
        })
        .route(|s: Sleep, _| async move {
            tokio::time::sleep(Duration::from_millis(s.milliseconds)).await;
            Ok(())
        });

    match Connection::spawn(pipes, router).closed().await {
        Disconnect::LocalClose | Disconnect::PeerClosed => ExitCode::SUCCESS,
        other => {
            eprintln!("ampoule_worker: {other}");
            ExitCode::FAILURE
        }
    }
}
