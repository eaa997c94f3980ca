//! Cheap randomness for a [`Balanced`](crate::Balanced) client: which
//! servers a call draws, and the jitter of reconnection back-off. No RNG
//! crate: the draws need to be spread, not unpredictable.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
