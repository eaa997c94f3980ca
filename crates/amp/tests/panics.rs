//! A responder that panics is reported by its connection (one `tracing`
//! error, with the panic's message), not printed by the process's panic
//! hook once per request; panics anywhere else still reach the hook.
//!
//! One test in its own binary: it installs a panic hook.

use amp::{CallError, Command, Connection, Disconnect, Record, Router};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Command)]
#[amp(response = Total)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Record)]
struct Total {
    total: i64,
}

/// Counts error events whose message says a responder panicked.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl<S: Subscriber> Layer<S> for Errors {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR {
            let mut m = Message(String::new());
            event.record(&mut m);
            self.0.lock().unwrap().push(m.0);
        }
    }
}

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn responder_panics_are_reported_by_the_connection_not_the_panic_hook() {
    std::panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let errors = Errors::default();
    let subscriber = tracing_subscriber::registry().with(errors.clone());
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for _ in 0..3 {
                let (a, b) = tokio::io::duplex(4096);
                let server = Connection::spawn(
                    a,
                    Router::new().route(|s: Sum, _| async move {
                        if s.a > 0 {
                            panic!("boom {}", s.a);
                        }
                        Ok(Total { total: s.b })
                    }),
                );
                let client = Connection::spawn(b, Router::new());
                match client.call(Sum { a: 7, b: 0 }).await {
                    Err(CallError::UnknownRemote { code, .. }) => assert_eq!(&code[..], b"UNKNOWN"),
                    other => panic!("expected UNKNOWN, got {:?}", other.map(|t| t.total)),
                }
                match server.closed().await {
                    Disconnect::UnknownError { reason, .. } => {
                        assert_eq!(reason, "responder panicked: boom 7")
                    }
                    other => panic!("{other:?}"),
                }
            }
        });
    });
    assert_eq!(
        HOOK_CALLS.load(Ordering::SeqCst),
        0,
        "the panic hook printed a responder's panic"
    );
    let logged = errors.0.lock().unwrap().clone();
    let panics = logged
        .iter()
        .filter(|e| e.contains("responder panicked"))
        .count();
    assert_eq!(panics, 3, "one report per connection: {logged:#?}");
    assert!(logged
        .iter()
        .all(|e| !e.contains("responder panicked") || e.contains("boom 7")));
    // A panic that is not a responder's still reaches the hook.
    assert!(std::thread::spawn(|| panic!("elsewhere")).join().is_err());
    assert_eq!(HOOK_CALLS.load(Ordering::SeqCst), 1);
}
