//! The `Sum` command of Twisted's AMP documentation (`Sum(a, b) -> total`),
//! declared once for tower-amp's client and server, as amp-rs's
//! `math_client` and `math_server` declare it.

use serde::{Deserialize, Serialize};
use tower_amp::{command, Error, Handle};

/// `Sum(a: Integer, b: Integer)`: the request's keys are `a` and `b`.
#[derive(Serialize, Deserialize)]
#[command(response = Total)]
pub struct Sum {
    pub a: i64,
    pub b: i64,
}

/// The answer's one key, `total`.
#[derive(Serialize, Deserialize)]
pub struct Total {
    pub total: i64,
}

impl Handle for Sum {
    async fn handle(self) -> Result<Total, Error> {
        let total = self
            .a
            .checked_add(self.b)
            .ok_or_else(|| Error::new("OVERFLOW", "sum overflows i64"))?;
        Ok(Total { total })
    }
}
