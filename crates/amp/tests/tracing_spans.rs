//! Every call and every answered request gets a `tracing` span naming the
//! command.

use amp::{Command, Connection, Record, Router};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
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

/// Records "name field=value ..." for every span opened.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl<S: Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut f = Fields(attrs.metadata().name().to_owned());
        attrs.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
}

#[test]
fn calls_and_responses_have_spans() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (a, b) = tokio::io::duplex(4096);
            let _server = Connection::spawn(
                a,
                Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) }),
            );
            let client = Connection::spawn(b, Router::new());
            assert_eq!(client.call(Sum { a: 1, b: 2 }).await.unwrap().total, 3);
            client.close().await;
        });
    });
    let seen = spans.0.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.starts_with("amp.call") && s.contains("Sum")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.starts_with("amp.respond") && s.contains("Sum") && s.contains("tag=1")),
        "{seen:?}"
    );
}
