//! Responder panics: caught and turned into `UNKNOWN`, and reported by the
//! connection (once in full per connection) rather than by the process's
//! panic hook, which would print every one of them.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Once;
use std::task::Poll;

thread_local! {
    /// Responders being polled on this thread (their panics are ours to
    /// report).
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// Wrap the process's panic hook, once: panics of responders being polled
/// are not printed by it; every other panic is, as before.
fn install() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Poll `fut` to completion, with a panic caught and returned as its
/// message.
pub(crate) async fn catch<F: Future>(mut fut: Pin<&mut F>) -> Result<F::Output, String> {
    install();
    std::future::poll_fn(move |cx| {
        CATCHING.with(|c| c.set(c.get() + 1));
        let polled = catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)));
        CATCHING.with(|c| c.set(c.get() - 1));
        match polled {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(message(&payload))),
        }
    })
    .await
}

fn message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}
