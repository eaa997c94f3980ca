//! A router that describes itself: [`Router::describe_itself`] and
//! [`Router::schema`].

use bytes::Bytes;
use rustc_hash::FxHashMap;
use std::sync::{Arc, OnceLock};

use super::{Route, Router};
use crate::reflect::{answer, schema_of, Describe, COMMAND};

/// The routes with `amp.describe` added, made once (when the first
/// connection binds) and shared by every clone of the router made after
/// its last route.
pub(super) type Cell<S> = Arc<OnceLock<Arc<FxHashMap<Bytes, Route<S>>>>>;

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// Answer `amp.describe` ([`reflect::Describe`](crate::reflect::Describe))
    /// with the schema of every command this router answers: typed routes
    /// with their arguments, response, errors and doc comment; StartTLS by
    /// its kind; raw routes by name only (the schema's `untyped` list).
    /// Tools such as `amp list ADDR` and [`reflect::fetch`](crate::reflect::fetch)
    /// ask it.
    ///
    /// Opt-in, since it tells every peer what the server answers. Routes
    /// added after this call are described too: the schema is made once,
    /// when the first connection opens, and costs nothing per request.
    ///
    /// ```
    /// use amp::{Command, Record, Router};
    ///
    /// #[derive(Command)]
    /// struct Ping;
    ///
    /// let router = Router::new().describe_itself().route(|_: Ping, _| async { Ok(()) });
    /// assert!(router.handles("amp.describe"));
    /// assert_eq!(router.schema().commands[0].name, "Ping");
    /// ```
    pub fn describe_itself(mut self) -> Self {
        self.reflection = Some(Cell::default());
        self
    }

    /// This router's commands as a schema (docs/SCHEMA.md), as
    /// [`Router::describe_itself`] answers them; `amp.describe` itself is
    /// left out.
    ///
    /// ```
    /// use amp::{Command, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Total)]
    /// struct Sum { a: i64, b: i64 }
    /// #[derive(Record)]
    /// struct Total { total: i64 }
    ///
    /// let router = Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) });
    /// let schema = router.schema();
    /// assert_eq!(schema.commands.len(), 1);
    /// assert_eq!(schema.commands[0].name, "Sum");
    /// assert_eq!(schema.commands[0].arguments.len(), 2);
    /// ```
    pub fn schema(&self) -> amp_schema::Schema {
        let source = format!("amp-rs {} router", env!("CARGO_PKG_VERSION"));
        schema_of(&self.describe(), source)
    }

    /// A route was added: a description made before is stale.
    pub(super) fn forget_description(&mut self) {
        if self.reflection.is_some() {
            self.reflection = Some(Cell::default());
        }
    }

    /// The routes a connection binds to: with `amp.describe` if the router
    /// describes itself.
    pub(super) fn routes_to_bind(&self) -> Arc<FxHashMap<Bytes, Route<S>>> {
        let Some(cell) = &self.reflection else {
            return self.routes.clone();
        };
        cell.get_or_init(|| {
            // A schema of strings, lists and maps always serialises; were
            // it not to, the server describes nothing rather than failing.
            let json: Arc<str> = serde_json::to_string(&self.schema())
                .unwrap_or_else(|_| r#"{"commands":[]}"#.to_owned())
                .into();
            let plain = Router {
                state: self.state.clone(),
                routes: self.routes.clone(),
                fallback: None,
                cancellable: self.cancellable,
                reflection: None,
            };
            let with = plain.route(move |d: Describe, _| {
                let json = json.clone();
                async move { answer(&d, &json) }
            });
            debug_assert!(with.routes.contains_key(COMMAND.as_bytes()));
            with.routes
        })
        .clone()
    }
}
