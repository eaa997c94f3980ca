//! The command set (same as `interop/peer.py`).

use std::path::PathBuf;

use amp::{Decimal, NoError};
use chrono::{DateTime, FixedOffset};
use num_bigint::BigInt;

/// `Echo*(value: T) -> (value: T, repr: Unicode)`: the peer answers the
/// value it decoded, re-encoded, and (Twisted side) how Python saw it.
pub(crate) trait Echo: amp::Command<Error = NoError> + Send {
    type Value: amp::Argument + Clone + std::fmt::Debug + Send + Sync + 'static;
    fn new(v: Self::Value) -> Self;
    fn split(r: Self::Response) -> (Self::Value, String);
    fn respond(self) -> Self::Response;
}

macro_rules! echo_command {
    ($cmd:ident, $resp:ident, $t:ty) => {
        #[derive(Debug, Clone, amp::Command)]
        #[amp(response = $resp)]
        pub(crate) struct $cmd {
            pub(crate) value: $t,
        }

        #[derive(Debug, Clone, amp::Record)]
        pub(crate) struct $resp {
            pub(crate) value: $t,
            pub(crate) repr: String,
        }

        impl Echo for $cmd {
            type Value = $t;
            fn new(value: $t) -> Self {
                $cmd { value }
            }
            fn split(r: $resp) -> ($t, String) {
                (r.value, r.repr)
            }
            fn respond(self) -> $resp {
                $resp {
                    value: self.value,
                    repr: "rust".into(),
                }
            }
        }
    };
}

echo_command!(EchoInteger, EchoIntegerResult, BigInt);
echo_command!(EchoString, EchoStringResult, Vec<u8>);
echo_command!(EchoUnicode, EchoUnicodeResult, String);
echo_command!(EchoBoolean, EchoBooleanResult, bool);
echo_command!(EchoFloat, EchoFloatResult, f64);
echo_command!(EchoDecimal, EchoDecimalResult, Decimal);
echo_command!(EchoDateTime, EchoDateTimeResult, DateTime<FixedOffset>);
echo_command!(EchoPath, EchoPathResult, PathBuf);

#[derive(Debug, Clone, PartialEq, amp::Command)]
#[amp(response = EchoListsResult)]
pub(crate) struct EchoLists {
    pub(crate) ints: Vec<BigInt>,
    pub(crate) texts: Vec<String>,
    pub(crate) nested: Vec<Vec<BigInt>>,
    pub(crate) bins: Vec<Vec<u8>>,
    pub(crate) floats: Vec<f64>,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct EchoListsResult {
    pub(crate) ints: Vec<BigInt>,
    pub(crate) texts: Vec<String>,
    pub(crate) nested: Vec<Vec<BigInt>>,
    pub(crate) bins: Vec<Vec<u8>>,
    pub(crate) floats: Vec<f64>,
    pub(crate) repr: String,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) qty: BigInt,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
pub(crate) struct Order {
    pub(crate) id: i64,
    pub(crate) items: Vec<Item>,
    pub(crate) note: Option<String>,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = EchoAmpListResult)]
pub(crate) struct EchoAmpList {
    pub(crate) orders: Vec<Order>,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct EchoAmpListResult {
    pub(crate) orders: Vec<Order>,
    pub(crate) repr: String,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = OptionsResult)]
pub(crate) struct Options {
    pub(crate) required: i64,
    pub(crate) maybe: Option<String>,
    #[amp(name = "dash-arg")]
    pub(crate) dash_arg: i64,
    #[amp(name = "opt-list")]
    pub(crate) opt_list: Option<Vec<i64>>,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct OptionsResult {
    pub(crate) maybe: Option<String>,
    #[amp(name = "dash-arg")]
    pub(crate) dash_arg: i64,
    #[amp(name = "opt-list")]
    pub(crate) opt_list: Option<Vec<i64>>,
    pub(crate) repr: String,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = SumResult)]
pub(crate) struct Sum {
    pub(crate) a: BigInt,
    pub(crate) b: BigInt,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
pub(crate) struct SumResult {
    pub(crate) total: BigInt,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = DivideResult, error = MathError)]
pub(crate) struct Divide {
    pub(crate) numerator: i64,
    pub(crate) denominator: i64,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct DivideResult {
    pub(crate) result: f64,
}

#[derive(Debug, amp::AmpError)]
pub(crate) enum MathError {
    #[amp(code = "ZERO_DIVISION")]
    ZeroDivision,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = FailResult, error = FailError)]
pub(crate) struct Fail {
    pub(crate) mode: String,
    pub(crate) text: String,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct FailResult {
    pub(crate) value: i64,
    pub(crate) blob: Option<Vec<u8>>,
}

/// Twisted's table also declares SECRET; this one does not, on purpose.
#[derive(Debug, amp::AmpError)]
pub(crate) enum FailError {
    #[amp(code = "DECLARED")]
    Declared(String),
    #[amp(code = "OTHER")]
    Other(String),
    #[amp(code = "FATAL", fatal)]
    Fatal(String),
}

#[derive(Debug, Clone, amp::Command)]
#[amp(error = BaseFailError)]
pub(crate) struct BaseFail {
    pub(crate) mode: String,
}

#[derive(Debug, amp::AmpError)]
pub(crate) enum BaseFailError {
    #[amp(code = "BASE")]
    Base(String),
}

/// Twisted: `class ChildFail(BaseFail): errors = {ChildError: b"CHILD"}`.
#[derive(Debug, Clone, amp::Command)]
#[amp(error = ChildFailError)]
pub(crate) struct ChildFail {
    pub(crate) mode: String,
}

#[derive(Debug, amp::AmpError)]
pub(crate) enum ChildFailError {
    #[amp(code = "CHILD")]
    Child(String),
    #[amp(extends)]
    Base(BaseFailError),
}

/// Twisted: `class Greet(Command)`.
#[derive(Debug, Clone, amp::Command)]
#[amp(response = GreetResult)]
pub(crate) struct Greet {
    pub(crate) name: String,
    pub(crate) polite: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
pub(crate) struct GreetResult {
    pub(crate) greeting: String,
}

/// Twisted: `class GreetTwice(Greet)` with `arguments = Greet.arguments +
/// [...]` and `response = Greet.response + [...]`: the parent flattened.
#[derive(Debug, Clone, amp::Command)]
#[amp(response = GreetTwiceResult)]
pub(crate) struct GreetTwice {
    #[amp(flatten)]
    pub(crate) greet: Greet,
    pub(crate) times: i64,
    #[amp(name = "a-first")]
    pub(crate) a_first: String,
}

#[derive(Debug, Clone, PartialEq, amp::Record)]
pub(crate) struct GreetTwiceResult {
    #[amp(flatten)]
    pub(crate) base: GreetResult,
    pub(crate) count: i64,
}

pub(crate) fn greeting(g: &Greet) -> String {
    let dear = if g.polite == Some(true) { "dear " } else { "" };
    format!("{dear}hello {}", g.name)
}

/// Twisted: `errors = {UnknownProtocol: b"UNKNOWN"}` (AMP's own code,
/// declared by the command, as in Twisted's test_amp).
#[derive(Debug, Clone, amp::Command)]
#[amp(response = ChooseResult, error = ChooseError)]
pub(crate) struct Choose {
    pub(crate) name: String,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct ChooseResult {
    pub(crate) chosen: String,
}

#[derive(Debug, amp::AmpError)]
pub(crate) enum ChooseError {
    #[amp(code = "UNKNOWN")]
    UnknownProtocol(String),
}

#[derive(Debug, Clone, amp::Command)]
#[amp(error = RecordError, requires_answer = false)]
pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) value: BigInt,
}

#[derive(Debug, amp::AmpError)]
pub(crate) enum RecordError {
    #[amp(code = "NEGATIVE")]
    Negative(String),
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = LookupResult)]
pub(crate) struct Lookup {
    pub(crate) key: String,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct LookupResult {
    pub(crate) value: Option<BigInt>,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = SlowResult)]
pub(crate) struct Slow {
    pub(crate) id: i64,
    pub(crate) delay: f64,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct SlowResult {
    pub(crate) id: i64,
    pub(crate) seq: i64,
}

#[derive(Debug, Clone, amp::Command)]
#[amp(response = BounceResult)]
pub(crate) struct Bounce {
    pub(crate) depth: i64,
}

#[derive(Debug, Clone, amp::Record)]
pub(crate) struct BounceResult {
    pub(crate) trace: Vec<String>,
}

#[derive(Debug, Clone, amp::Command)]
pub(crate) struct Hangup {}

#[derive(Debug, Clone, amp::Command)]
pub(crate) struct NoSuchCommand {}
