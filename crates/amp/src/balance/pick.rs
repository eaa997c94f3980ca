//! The power of two choices: each call goes to the less loaded of two
//! connected servers drawn at random.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::backend::Backend;

/// SplitMix64's finaliser: a well-spread 64-bit value from any seed.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A cheap random stream shared by the client's calls.
pub(crate) struct Dice(AtomicU64);

impl Dice {
    pub(crate) fn new() -> Dice {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Dice(AtomicU64::new(seed))
    }

    pub(crate) fn roll(&self) -> u64 {
        mix(self.0.fetch_add(1, Relaxed))
    }
}

/// The connected backend to call, or `None` when none is connected (or
/// all are in `avoid`, when another one is). Two are drawn (the first
/// connected one at or after each of two random places) and the one with
/// fewer calls in flight wins; a tie goes to the lower latency.
pub(crate) fn pick<'a>(
    backends: &'a [Arc<Backend>],
    dice: &Dice,
    avoid: Option<std::net::SocketAddr>,
) -> Option<&'a Arc<Backend>> {
    let n = backends.len();
    if n == 0 {
        return None;
    }
    let usable = |b: &Backend| b.is_ready() && Some(b.addr) != avoid;
    let draw = |from: usize| {
        (0..n)
            .map(|i| &backends[(from + i) % n])
            .find(|b| usable(b))
    };
    let r = dice.roll();
    let Some(a) = draw((r % n as u64) as usize) else {
        // Nothing else is connected: the one to avoid is better than none.
        return avoid.and_then(|_| backends.iter().find(|b| b.is_ready()));
    };
    let b = draw(((r >> 32) % n as u64) as usize).unwrap_or(a);
    Some(if b.load() < a.load() { b } else { a })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn nothing_connected_is_none() {
        let backends = vec![Backend::new(addr(1)), Backend::new(addr(2))];
        assert!(pick(&backends, &Dice::new(), None).is_none());
        assert!(pick(&[], &Dice::new(), None).is_none());
    }
}
