//! `Double(n) -> (n)`: twice `n`, or `NEGATIVE` for a negative `n` (as
//! interop/stats_peer.py answers it).

use amp::{AmpError, Command, Record, Router};

#[derive(Command, Debug)]
#[amp(response = Doubled, error = DoubleError)]
pub struct Double {
    pub n: i64,
}

#[derive(Record, Debug)]
pub struct Doubled {
    pub n: i64,
}

#[derive(AmpError, Debug, PartialEq)]
pub enum DoubleError {
    #[amp(code = "NEGATIVE")]
    Negative,
}

/// A router answering `Double`.
pub fn router() -> Router {
    Router::new().route(|d: Double, _| async move {
        if d.n < 0 {
            return Err(DoubleError::Negative);
        }
        Ok(Doubled { n: 2 * d.n })
    })
}

/// The errors of the tests' script: one `NEGATIVE` (`Double(-1)`) and one
/// `UNHANDLED` (a command nobody answers), nothing else.
pub fn assert_one_negative_one_unhandled(e: &amp::ErrorCounts) {
    assert_eq!(e.get("NEGATIVE"), 1, "{e:?}");
    assert_eq!(e.get("UNHANDLED"), 1, "{e:?}");
    assert_eq!(e.total(), 2, "{e:?}");
}
