//! [`Config`]: every limit, budget and timeout of a connection, checked
//! when it is built.
//!
//! | setting | default | what it stops |
//! |---|---|---|
//! | [`max_box_size`](Config::max_box_size) | 4 MiB | a box that never ends (memory grows with what the peer sends) |
//! | [`max_box_entries`](Config::max_box_entries) | 65,536 | a box of millions of tiny entries (index memory, sorting time) |
//! | [`max_nesting`](Config::max_nesting) | 64 | `ListOf`/`AmpList` nested thousands deep (stack overflow while decoding) |
//! | [`max_in_flight`](Config::max_in_flight) | 4,096 | requests faster than they are answered (reading stops: TCP back-pressure) |
//! | [`write_high_water`](Config::write_high_water) | 256 KiB | a peer that does not read (callers wait, reading stops) |
//! | [`max_held`](Config::max_held) | 4 MiB | a peer that keeps calling while our switch or StartTLS awaits its answer |
//! | [`first_box_timeout`](Config::first_box_timeout) | 30 s | connections accepted by a server that never send a whole box |
//! | [`box_timeout`](Config::box_timeout) | 30 s | a box that starts arriving and stalls |
//! | [`write_timeout`](Config::write_timeout) | 30 s | output that the peer stops reading (also bounds the flush when closing) |
//! | [`tls_handshake_timeout`](Config::tls_handshake_timeout) | 10 s | a StartTLS handshake left silent |
//! | [`idle_timeout`](Config::idle_timeout) | off | connections with nothing to do |
//! | [`keepalive_interval`](Config::keepalive_interval) | off | a peer that died without closing (no FIN: a crashed host, a cut network): pinged after this long silent |
//! | [`keepalive_timeout`](Config::keepalive_timeout) | 20 s | ... and closed if the ping gets no reply in time |
//! | [`call_timeout`](Config::call_timeout) | off | our calls waiting forever on a peer that never answers (a call's own timeout overrides it) |
//!
//! A setting that would stall a connection (a zero limit, a zero timeout)
//! is refused by [`ConfigBuilder::build`] with a [`ConfigError`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const DEFAULT_MAX_BOX_SIZE: usize = 4 << 20;
pub(crate) const DEFAULT_MAX_BOX_ENTRIES: usize = 65_536;
pub(crate) const DEFAULT_MAX_NESTING: usize = 64;
/// The command keepalive sends unless told otherwise: a peer without it
/// answers `UNHANDLED`, which proves it alive just as well.
pub const DEFAULT_KEEPALIVE_COMMAND: &str = "amp-rs.keepalive";

/// Command names [`Config::keepalive_command`] may not be: `StartTLS`
/// (a ping would ask the peer to start TLS) and `Cancel` (which the peer
/// may take as a cancellation, see [`session::cancel`](crate::session::cancel)).
pub const RESERVED_COMMANDS: [&str; 2] = [
    crate::session::keys::START_TLS,
    crate::session::cancel::CANCEL,
];

/// The smallest box size limit accepted: room for a request with a short
/// command name, a tag and a few small arguments.
pub const MIN_MAX_BOX_SIZE: usize = 256;
/// The largest box size limit accepted (offsets within a box are 32-bit).
pub const MAX_MAX_BOX_SIZE: usize = 1 << 30;

/// The limits, budgets and timeouts of one connection. Every peer input is
/// bounded by one of them; the module documentation has the table of
/// defaults.
///
/// ```
/// use amp_wire::Config;
/// use std::time::Duration;
///
/// let config = Config::builder()
///     .max_box_size(1 << 20)
///     .idle_timeout(Some(Duration::from_secs(300)))
///     .build()
///     .unwrap();
/// assert_eq!(config.max_box_size(), 1 << 20);
/// assert_eq!(config.max_in_flight(), 4096); // the default
///
/// // A zero that would stall the connection is refused, not accepted.
/// let err = Config::builder().max_in_flight(0).build().unwrap_err();
/// assert_eq!(err.setting(), "max_in_flight");
/// ```
///
/// The defaults, as the module's table gives them:
///
/// ```
/// use amp_wire::Config;
/// use std::time::Duration;
///
/// let c = Config::default();
/// let secs = |s| Some(Duration::from_secs(s));
/// assert_eq!((c.max_box_entries(), c.max_nesting()), (65_536, 64));
/// assert_eq!((c.write_high_water(), c.max_held()), (256 * 1024, 4 << 20));
/// assert_eq!((c.first_box_timeout(), c.box_timeout()), (secs(30), secs(30)));
/// assert_eq!((c.write_timeout(), c.tls_handshake_timeout()), (secs(30), secs(10)));
/// assert_eq!((c.call_timeout(), c.keepalive_interval()), (None, None));
/// assert_eq!(c.keepalive_timeout(), secs(20));
/// assert_eq!(c.keepalive_command(), amp_wire::DEFAULT_KEEPALIVE_COMMAND);
/// // A builder from a configuration starts from its settings.
/// assert_eq!(c.to_builder().build().unwrap(), c);
/// ```
///
/// A `Config` is cheap to clone: its settings are shared, not copied, so a
/// server's connections all point at one copy.
#[derive(Clone, PartialEq, Eq)]
pub struct Config(Arc<settings::Config>);

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The settings themselves (named `Config` so that `Debug` prints the same
/// as it would for a plain struct).
mod settings {
    use std::time::Duration;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) struct Config {
        pub(super) max_box_size: usize,
        pub(super) max_box_entries: usize,
        pub(super) max_nesting: usize,
        pub(super) max_in_flight: usize,
        pub(super) write_high_water: usize,
        pub(super) max_held: usize,
        pub(super) first_box_timeout: Option<Duration>,
        pub(super) box_timeout: Option<Duration>,
        pub(super) write_timeout: Option<Duration>,
        pub(super) tls_handshake_timeout: Option<Duration>,
        pub(super) idle_timeout: Option<Duration>,
        pub(super) call_timeout: Option<Duration>,
        pub(super) keepalive_interval: Option<Duration>,
        pub(super) keepalive_timeout: Option<Duration>,
        pub(super) keepalive_command: String,
    }
}

impl Default for Config {
    fn default() -> Self {
        Config(Arc::new(settings::Config {
            max_box_size: DEFAULT_MAX_BOX_SIZE,
            max_box_entries: DEFAULT_MAX_BOX_ENTRIES,
            max_nesting: DEFAULT_MAX_NESTING,
            max_in_flight: 4096,
            write_high_water: 256 * 1024,
            max_held: 4 << 20,
            first_box_timeout: Some(Duration::from_secs(30)),
            box_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            tls_handshake_timeout: Some(Duration::from_secs(10)),
            idle_timeout: None,
            call_timeout: None,
            keepalive_interval: None,
            keepalive_timeout: Some(Duration::from_secs(20)),
            keepalive_command: DEFAULT_KEEPALIVE_COMMAND.to_owned(),
        }))
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: (*Config::default().0).clone(),
        }
    }

    /// A builder starting from this configuration.
    pub fn to_builder(&self) -> ConfigBuilder {
        ConfigBuilder {
            config: (*self.0).clone(),
        }
    }

    /// Largest box accepted from the peer, in bytes on the wire. Past it the
    /// connection ends with
    /// [`ProtocolError::BoxTooLarge`](crate::ProtocolError::BoxTooLarge),
    /// after at most this many bytes of the box were buffered.
    pub fn max_box_size(&self) -> usize {
        self.0.max_box_size
    }

    /// Most entries (keys) accepted in one box from the peer
    /// ([`ProtocolError::TooManyEntries`](crate::ProtocolError::TooManyEntries)).
    pub fn max_box_entries(&self) -> usize {
        self.0.max_box_entries
    }

    /// How deep `ListOf`/`AmpList` values may nest when decoded: deeper is a
    /// [`DecodeError::TooDeep`](crate::DecodeError::TooDeep) (a request
    /// gets `UNKNOWN`, as any undecodable request does).
    pub fn max_nesting(&self) -> usize {
        self.0.max_nesting
    }

    /// Requests from the peer being answered at once; past this the
    /// connection stops reading (TCP back-pressure) until some finish.
    pub fn max_in_flight(&self) -> usize {
        self.0.max_in_flight
    }

    /// Bytes waiting to be written past which callers wait and the
    /// connection stops reading (the peer is not keeping up).
    pub fn write_high_water(&self) -> usize {
        self.0.write_high_water
    }

    /// Bytes of boxes held back while our protocol switch or StartTLS
    /// awaits its answer; past it the connection ends with
    /// [`Disconnect::HeldTooMuch`](crate::Disconnect::HeldTooMuch).
    pub fn max_held(&self) -> usize {
        self.0.max_held
    }

    /// Connections accepted by a server must deliver a whole first box
    /// within this time ([`Timeout::FirstBox`](crate::Timeout::FirstBox)).
    /// Connections this side opened are not subject to it: a server speaks
    /// only when called.
    pub fn first_box_timeout(&self) -> Option<Duration> {
        self.0.first_box_timeout
    }

    /// Once a box starts arriving, it must be complete within this time
    /// ([`Timeout::Box`](crate::Timeout::Box)).
    pub fn box_timeout(&self) -> Option<Duration> {
        self.0.box_timeout
    }

    /// Output waiting to be written must make progress within this time
    /// ([`Timeout::Write`](crate::Timeout::Write)); it also bounds how long
    /// a closing connection tries to flush.
    pub fn write_timeout(&self) -> Option<Duration> {
        self.0.write_timeout
    }

    /// A StartTLS handshake must finish within this time
    /// ([`Timeout::TlsHandshake`](crate::Timeout::TlsHandshake)).
    pub fn tls_handshake_timeout(&self) -> Option<Duration> {
        self.0.tls_handshake_timeout
    }

    /// A connection with no box received or sent for this long, and no
    /// call or request pending, is closed
    /// ([`Timeout::Idle`](crate::Timeout::Idle)). Off by default.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.0.idle_timeout
    }

    /// Our calls fail with a timeout after waiting this long for their
    /// answer (writing included), unless the call sets its own; the tag is
    /// remembered, so a late answer is dropped quietly. Off by default, as
    /// in Twisted.
    pub fn call_timeout(&self) -> Option<Duration> {
        self.0.call_timeout
    }

    /// After this long with nothing received, send the peer the
    /// [`keepalive_command`](Config::keepalive_command); off by default.
    /// Detects a peer that died without closing, which TCP alone may not
    /// notice for hours. Pings and their replies count as activity for
    /// [`idle_timeout`](Config::idle_timeout).
    pub fn keepalive_interval(&self) -> Option<Duration> {
        self.0.keepalive_interval
    }

    /// A keepalive ping with no reply (answer or error) within this time
    /// ends the connection ([`Timeout::Keepalive`](crate::Timeout::Keepalive)).
    /// The time counts only while the connection reads: while it does not
    /// (paused, requests waiting at [`max_in_flight`](Config::max_in_flight),
    /// output past [`write_high_water`](Config::write_high_water), a
    /// negotiation) the reply could not be seen, so no ping is sent and the
    /// reply deadline is not kept; when reading resumes, a ping awaiting
    /// its reply gets this whole time again, and the next ping waits a
    /// whole [`keepalive_interval`](Config::keepalive_interval).
    pub fn keepalive_timeout(&self) -> Option<Duration> {
        self.0.keepalive_timeout
    }

    /// The command keepalive sends, with no arguments and asking for an
    /// answer (default [`DEFAULT_KEEPALIVE_COMMAND`]). Any reply counts,
    /// `UNHANDLED` included; with a Twisted peer, name one of its commands
    /// that takes no arguments if its logs should stay quiet.
    ///
    /// The name is the value of `_command`, so it may be 1 to 65,535 bytes
    /// ([`MAX_VALUE_LENGTH`](crate::MAX_VALUE_LENGTH), the longest AMP
    /// value; the 255-byte limit is for keys). A ping must not negotiate
    /// anything, so the commands that do, or that the session takes itself,
    /// are refused ([`RESERVED_COMMANDS`]: `StartTLS`, `Cancel`); nor should
    /// it name one of the application's protocol-switch commands, which
    /// this configuration cannot know.
    pub fn keepalive_command(&self) -> &str {
        &self.0.keepalive_command
    }
}

/// Builds a [`Config`] (see [`Config::builder`]); [`ConfigBuilder::build`]
/// checks it.
///
/// ```
/// use amp_wire::Config;
/// use std::time::Duration;
///
/// let config = Config::builder()
///     .max_in_flight(16)
///     .call_timeout(Some(Duration::from_secs(5)))
///     .build()
///     .unwrap();
/// assert_eq!(config.max_in_flight(), 16);
///
/// // Start from a configuration and change one setting; the rest stays.
/// let wider = config.to_builder().max_in_flight(64).build().unwrap();
/// assert_eq!(wider.max_in_flight(), 64);
/// assert_eq!(wider.call_timeout(), Some(Duration::from_secs(5)));
/// ```
///
/// Every setter, each read back by the getter of the same name:
///
/// ```
/// use amp_wire::Config;
/// use std::time::Duration;
///
/// let s = |n| Some(Duration::from_secs(n));
/// let c = Config::builder()
///     .max_box_size(1 << 16)
///     .max_box_entries(100)
///     .max_nesting(8)
///     .write_high_water(1 << 12)
///     .max_held(1 << 20)
///     .first_box_timeout(s(5))
///     .box_timeout(s(6))
///     .write_timeout(None)
///     .tls_handshake_timeout(s(7))
///     .idle_timeout(s(600))
///     .keepalive_interval(s(60))
///     .keepalive_timeout(s(8))
///     .keepalive_command("Ping")
///     .build()
///     .unwrap();
/// assert_eq!((c.max_box_size(), c.max_box_entries(), c.max_nesting()), (1 << 16, 100, 8));
/// assert_eq!((c.write_high_water(), c.max_held()), (1 << 12, 1 << 20));
/// assert_eq!((c.first_box_timeout(), c.box_timeout(), c.write_timeout()), (s(5), s(6), None));
/// assert_eq!((c.tls_handshake_timeout(), c.idle_timeout()), (s(7), s(600)));
/// assert_eq!((c.keepalive_interval(), c.keepalive_timeout()), (s(60), s(8)));
/// assert_eq!(c.keepalive_command(), "Ping");
///
/// // A reserved command name is refused.
/// let err = Config::builder().keepalive_command("StartTLS").build().unwrap_err();
/// assert_eq!(err.setting(), "keepalive_command");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    config: settings::Config,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl ConfigBuilder {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Self {
                    self.config.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// See [`Config::max_box_size`]: 256 bytes to 1 GiB.
    max_box_size: usize;
    /// See [`Config::max_box_entries`]: at least 1.
    max_box_entries: usize;
    /// See [`Config::max_nesting`]: at least 1.
    max_nesting: usize;
    /// See [`Config::max_in_flight`]: at least 1.
    max_in_flight: usize;
    /// See [`Config::write_high_water`]: at least 1.
    write_high_water: usize;
    /// See [`Config::max_held`]: at least 1.
    max_held: usize;
    /// See [`Config::first_box_timeout`]: `None` or more than zero.
    first_box_timeout: Option<Duration>;
    /// See [`Config::box_timeout`]: `None` or more than zero.
    box_timeout: Option<Duration>;
    /// See [`Config::write_timeout`]: `None` or more than zero.
    write_timeout: Option<Duration>;
    /// See [`Config::tls_handshake_timeout`]: `None` or more than zero.
    tls_handshake_timeout: Option<Duration>;
    /// See [`Config::idle_timeout`]: `None` or more than zero.
    idle_timeout: Option<Duration>;
    /// See [`Config::call_timeout`]: `None` or more than zero.
    call_timeout: Option<Duration>;
    /// See [`Config::keepalive_interval`]: `None` or more than zero.
    keepalive_interval: Option<Duration>;
    /// See [`Config::keepalive_timeout`]: more than zero when keepalive is on.
    keepalive_timeout: Option<Duration>;
}

impl ConfigBuilder {
    /// See [`Config::keepalive_command`]: 1 to 65,535 bytes, not one of
    /// [`RESERVED_COMMANDS`].
    pub fn keepalive_command(mut self, name: impl Into<String>) -> Self {
        self.config.keepalive_command = name.into();
        self
    }
}

impl ConfigBuilder {
    /// Check the settings: a zero limit or timeout, which would stall or
    /// instantly close every connection, is refused.
    pub fn build(self) -> Result<Config, ConfigError> {
        let c = self.config;
        let at_least_one = [
            ("max_box_entries", c.max_box_entries),
            ("max_nesting", c.max_nesting),
            ("max_in_flight", c.max_in_flight),
            ("write_high_water", c.write_high_water),
            ("max_held", c.max_held),
        ];
        for (setting, v) in at_least_one {
            if v == 0 {
                return Err(ConfigError {
                    setting,
                    problem: "must be at least 1 (0 would stall every connection)".into(),
                });
            }
        }
        if !(MIN_MAX_BOX_SIZE..=MAX_MAX_BOX_SIZE).contains(&c.max_box_size) {
            return Err(ConfigError {
                setting: "max_box_size",
                problem: format!(
                    "{} is outside {MIN_MAX_BOX_SIZE}..={MAX_MAX_BOX_SIZE} bytes",
                    c.max_box_size
                ),
            });
        }
        let timeouts = [
            ("first_box_timeout", c.first_box_timeout),
            ("box_timeout", c.box_timeout),
            ("write_timeout", c.write_timeout),
            ("tls_handshake_timeout", c.tls_handshake_timeout),
            ("idle_timeout", c.idle_timeout),
            ("call_timeout", c.call_timeout),
            ("keepalive_interval", c.keepalive_interval),
            ("keepalive_timeout", c.keepalive_timeout),
        ];
        for (setting, v) in timeouts {
            if v == Some(Duration::ZERO) {
                return Err(ConfigError {
                    setting,
                    problem: "must be more than zero (use None to turn it off)".into(),
                });
            }
        }
        if c.keepalive_interval.is_some() && c.keepalive_timeout.is_none() {
            return Err(ConfigError {
                setting: "keepalive_timeout",
                problem:
                    "must be set when keepalive_interval is (a dead peer would never be noticed)"
                        .into(),
            });
        }
        let name = c.keepalive_command.len();
        if name == 0 || name > crate::MAX_VALUE_LENGTH {
            return Err(ConfigError {
                setting: "keepalive_command",
                problem: format!(
                    "a command name of {name} bytes (1 to {} allowed: it is a value)",
                    crate::MAX_VALUE_LENGTH
                ),
            });
        }
        if RESERVED_COMMANDS.contains(&&c.keepalive_command[..]) {
            return Err(ConfigError {
                setting: "keepalive_command",
                problem: format!(
                    "{:?} is reserved (a ping must not start a negotiation or a cancellation)",
                    c.keepalive_command
                ),
            });
        }
        Ok(Config(Arc::new(c)))
    }
}

/// A [`Config`] setting that cannot work.
///
/// ```
/// use amp_wire::Config;
/// use std::time::Duration;
///
/// // Keepalive pings that may wait forever for their reply are refused.
/// let err = Config::builder()
///     .keepalive_interval(Some(Duration::from_secs(30)))
///     .keepalive_timeout(None)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.setting(), "keepalive_timeout");
///
/// let err = Config::builder().max_box_size(100).build().unwrap_err();
/// assert_eq!(err.setting(), "max_box_size");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    setting: &'static str,
    problem: String,
}

impl ConfigError {
    /// The setting at fault (its builder method's name).
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid connection setting {}: {}",
            self.setting, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(
            Config::default().to_builder().build(),
            Ok(Config::default())
        );
    }

    #[test]
    fn every_zero_is_refused() {
        let cases: Vec<(&str, ConfigBuilder)> = vec![
            ("max_box_entries", Config::builder().max_box_entries(0)),
            ("max_nesting", Config::builder().max_nesting(0)),
            ("max_in_flight", Config::builder().max_in_flight(0)),
            ("write_high_water", Config::builder().write_high_water(0)),
            ("max_held", Config::builder().max_held(0)),
            ("max_box_size", Config::builder().max_box_size(0)),
            ("max_box_size", Config::builder().max_box_size(usize::MAX)),
            (
                "first_box_timeout",
                Config::builder().first_box_timeout(Some(Duration::ZERO)),
            ),
            (
                "box_timeout",
                Config::builder().box_timeout(Some(Duration::ZERO)),
            ),
            (
                "write_timeout",
                Config::builder().write_timeout(Some(Duration::ZERO)),
            ),
            (
                "tls_handshake_timeout",
                Config::builder().tls_handshake_timeout(Some(Duration::ZERO)),
            ),
            (
                "idle_timeout",
                Config::builder().idle_timeout(Some(Duration::ZERO)),
            ),
            (
                "call_timeout",
                Config::builder().call_timeout(Some(Duration::ZERO)),
            ),
            (
                "keepalive_interval",
                Config::builder().keepalive_interval(Some(Duration::ZERO)),
            ),
            (
                "keepalive_timeout",
                Config::builder()
                    .keepalive_interval(Some(Duration::from_secs(1)))
                    .keepalive_timeout(None),
            ),
            ("keepalive_command", Config::builder().keepalive_command("")),
        ];
        for (setting, b) in cases {
            let e = b.build().unwrap_err();
            assert_eq!(e.setting(), setting, "{e}");
        }
    }

    #[test]
    fn timeouts_can_be_turned_off() {
        let c = Config::builder()
            .first_box_timeout(None)
            .box_timeout(None)
            .write_timeout(None)
            .tls_handshake_timeout(None)
            .build()
            .unwrap();
        assert_eq!(c.box_timeout(), None);
    }
}
