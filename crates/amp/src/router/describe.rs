//! What a router says of the commands it answers: [`Router::describe`],
//! and [`Router::describe_route`] for a raw route that takes a typed
//! command.

use std::sync::Arc;

use amp_wire::describe::{CommandDescription, CommandKind};
use amp_wire::Command;

use super::Router;

/// One command a [`Router`] answers, from [`Router::describe`].
///
/// ```
/// use amp::describe::CommandKind;
/// use amp::{AmpBox, Command, Record, Router};
///
/// #[derive(Command)]
/// #[amp(response = Total)]
/// struct Sum { a: i64, b: i64 }
/// #[derive(Record)]
/// struct Total { total: i64 }
///
/// let router = Router::new()
///     .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
///     .route_raw("Echo", |req: AmpBox, _| async move { Ok(req) });
/// let routes = router.describe();
/// let (echo, sum) = (&routes[0], &routes[1]);
/// assert_eq!((echo.name.as_str(), echo.kind), ("Echo", CommandKind::Plain));
/// assert!(echo.command.is_none()); // a raw route: its name only
/// let sum = sum.command.as_ref().unwrap();
/// let names: Vec<&str> = sum.arguments.iter().map(|f| f.name.as_str()).collect();
/// assert_eq!(names, ["a", "b"]);
/// assert_eq!(sum.response[0].name, "total");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteDescription {
    /// The command's name (`_command`), as text.
    pub name: String,
    /// What its answer does to the connection.
    pub kind: CommandKind,
    /// Its arguments, response and errors, for a typed route
    /// ([`Router::route`] and the like); `None` for a raw one
    /// ([`Router::route_raw`], StartTLS): only its name is known.
    pub command: Option<CommandDescription>,
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// Say that the raw route answering `C::NAME` ([`Router::route_raw`])
    /// takes `C`'s arguments and gives its response and errors, so
    /// [`Router::describe`] and [`Router::describe_itself`] describe it in
    /// full instead of by name. Nothing happens if no route answers
    /// `C::NAME`.
    ///
    /// ```
    /// use amp::{AmpBox, Command, Router};
    ///
    /// #[derive(Command)]
    /// struct Ping;
    ///
    /// let router = Router::new()
    ///     .route_raw("Ping", |_: AmpBox, _| async { Ok(AmpBox::new()) })
    ///     .describe_route::<Ping>();
    /// assert!(router.describe()[0].command.is_some());
    /// ```
    pub fn describe_route<C: Command>(mut self) -> Self {
        #[cfg(feature = "reflect")]
        self.forget_description();
        if let Some(route) = Arc::make_mut(&mut self.routes).get_mut(C::NAME.as_bytes()) {
            route.describe = Some(C::describe);
        }
        self
    }

    /// Every command this router answers, sorted by name: typed routes
    /// with their whole description (arguments, response, errors, doc),
    /// raw ones with their name (a fallback is not listed).
    ///
    /// ```
    /// use amp::describe::{AmpType, CommandKind};
    /// use amp::{AmpBox, Command, Record, Router};
    ///
    /// #[derive(Command)]
    /// #[amp(response = Total)]
    /// struct Sum { a: i64, b: i64 }
    /// #[derive(Record)]
    /// struct Total { total: i64 }
    ///
    /// let router = Router::new()
    ///     .route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) })
    ///     .route_raw("Echo", |req: AmpBox, _| async move { Ok(req) });
    /// let routes = router.describe();
    /// assert_eq!(routes[0].name, "Echo");
    /// assert!(routes[0].command.is_none());
    /// let sum = routes[1].command.as_ref().unwrap();
    /// assert_eq!(sum.arguments[0].ty, AmpType::Integer);
    /// assert_eq!(routes[1].kind, CommandKind::Plain);
    /// ```
    pub fn describe(&self) -> Vec<RouteDescription> {
        let mut out: Vec<RouteDescription> = self
            .routes
            .iter()
            .map(|(name, route)| {
                let kind = route.kind;
                let command = route.describe.map(|d| {
                    let mut c = d();
                    c.kind = kind;
                    c
                });
                RouteDescription {
                    name: String::from_utf8_lossy(name).into_owned(),
                    kind,
                    command,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}
