//! Reserved keys and codes of AMP.

/// The command name of a request.
pub const COMMAND: &str = "_command";
/// The tag of a request that wants an answer.
pub const ASK: &str = "_ask";
/// The tag an answer replies to.
pub const ANSWER: &str = "_answer";
/// The tag an error replies to.
pub const ERROR: &str = "_error";
/// The error code.
pub const ERROR_CODE: &str = "_error_code";
/// The error description.
pub const ERROR_DESCRIPTION: &str = "_error_description";
/// Error code for a command with no responder.
pub const UNHANDLED: &str = "UNHANDLED";
/// Error code for any undeclared failure.
pub const UNKNOWN: &str = "UNKNOWN";
/// Description sent with `UNKNOWN`.
pub const UNKNOWN_DESCRIPTION: &str = "Unknown Error";
/// The StartTLS command.
pub const START_TLS: &str = "StartTLS";
/// Error code answered to a second StartTLS on one connection.
pub const ONLY_ONE_TLS: &str = "ONLY_ONE_TLS";
/// Error code answered when TLS cannot start.
pub const TLS_ERROR: &str = "TLS_ERROR";
/// Error code answered to a switch that cannot happen now.
pub const PROTOCOL_SWITCHED: &str = "PROTOCOL_SWITCHED";
/// Error code answered to requests during a graceful shutdown.
pub const SHUTTING_DOWN: &str = "SHUTTING_DOWN";
/// The route a box is for (see [`Session::bind_route`](super::Session::bind_route)).
pub const ROUTE: &str = "_route";
