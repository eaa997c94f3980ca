//! Every call and every answered request gets a `tracing` span naming the
//! command, its tag and the peer's address; each connection's task runs in
//! an `amp.connection` span naming the peer.

use amp::{Command, Connection, Record, Router};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as Recorded};
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

/// Records "name field=value ..." for every span opened, with the fields
/// recorded later appended.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<(u64, String)>>>);

impl Spans {
    fn seen(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl<S: Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut f = Fields(attrs.metadata().name().to_owned());
        attrs.record(&mut f);
        self.0.lock().unwrap().push((id.into_u64(), f.0));
    }

    fn on_record(&self, id: &Id, values: &Recorded<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        // Ids are reused once a span closes: the latest one is this one.
        if let Some((_, s)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            let mut f = Fields(std::mem::take(s));
            values.record(&mut f);
            *s = f.0;
        }
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
    let seen = spans.seen();
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

#[test]
fn spans_carry_the_tag_of_our_call_and_the_peer_address() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let (client_addr, server_addr) = tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let server_addr = listener.local_addr().unwrap();
            let router =
                Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) });
            tokio::spawn(amp::Server::new(router).serve(listener));
            let client = Connection::connect(server_addr).await.unwrap();
            let client_addr = client.local_addr().and_then(amp::Addr::as_tcp).unwrap();
            for a in 0..2 {
                assert_eq!(client.call(Sum { a, b: 2 }).await.unwrap().total, a + 2);
            }
            let raw = client.call_raw("Nope", amp::AmpBox::new()).await;
            assert!(raw.is_err());
            client.close().await;
            (client_addr, server_addr)
        })
    });
    let seen = spans.seen();
    let has = |want: &str| seen.iter().any(|s| s == want);
    // Our calls: command and peer when opened, the tag once written.
    for (command, tag) in [("\"Sum\"", 1), ("\"Sum\"", 2), ("Nope", 3)] {
        let want = format!("amp.call command={command} peer={server_addr} tag={tag}");
        assert!(has(&want), "no {want:?} in {seen:#?}");
    }
    // The server's responders see the client as their peer.
    for tag in [1, 2] {
        let want = format!("amp.respond command=Sum tag={tag} peer={client_addr}");
        assert!(has(&want), "no {want:?} in {seen:#?}");
    }
    for peer in [server_addr, client_addr] {
        let want = format!("amp.connection peer={peer}");
        assert!(has(&want), "no {want:?} in {seen:#?}");
    }
}
