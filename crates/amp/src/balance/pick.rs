//! The power of two choices: each call goes to the less loaded of two
//! connected servers drawn at random.

use std::sync::Arc;

use super::backend::Backend;
use super::dice::Dice;

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
