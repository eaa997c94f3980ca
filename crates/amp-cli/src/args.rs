//! Parsers of command-line values shared by several subcommands.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::exit::{CliError, CliResult};

/// The longest duration a flag takes: a year.
const MAX_SECONDS: f64 = 365.0 * 86400.0;

/// A duration given in seconds on the command line (`10`, `0.5`), for
/// every `--timeout`, `--duration`, `--grace` and `--connect-timeout`:
/// more than zero, at most a year.
pub fn seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= MAX_SECONDS => {
            let d = Duration::from_secs_f64(v);
            if !d.is_zero() {
                return Ok(d);
            }
        }
        _ => {}
    }
    Err(format!(
        "`{s}` is not a number of seconds: give more than 0 seconds, at most a year (like 10 or 0.5)"
    ))
}

/// The input a `FILE` argument names: standard input for `-`, else the
/// file (one that cannot be opened is a usage error).
pub fn open_input(path: &Path) -> CliResult<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::usage(format!("cannot open {}: {e}", path.display())))?;
    Ok(Box::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accepts_positive_bounded_numbers() {
        assert_eq!(seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("31536000"), Ok(Duration::from_secs(31_536_000)));
        for bad in [
            "0", "-1", "-0", "1e-12", "31536001", "inf", "NaN", "", "ten", "1s",
        ] {
            let err = seconds(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
            assert!(err.contains("more than 0 seconds"), "{bad}: {err}");
        }
    }
}
