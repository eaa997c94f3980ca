//! Rust writes the bytes Twisted writes (float ties, random values), and
//! bulk values in flight.

use std::time::Duration;

use amp::AmpBox;
use chrono::{DateTime, FixedOffset};
use futures_util::future::join_all;
use num_bigint::BigInt;

use crate::commands::*;
use crate::common::{within, within_for};
use crate::helpers::{dec, dt, same_f64, twisted_peer};

/// xorshift64*: reproducible pseudo-random values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Floats whose shortest round-trip text needs 17 digits and whose exact
/// value lies exactly halfway between two 17-digit candidates: Python's
/// repr (David Gay's dtoa, mode 0) picks the even one; Rust's `{:e}`
/// shortest formatting rounds the tie up. The value survives either way,
/// but the bytes on the wire differ from Twisted's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::excessive_precision)] // exact binary ties, written out on purpose
async fn rust_float_text_matches_python_on_exact_ties() {
    let (_py, conn, _) = twisted_peer().await;
    let mut wrong = Vec::new();
    for (v, python) in [
        (2f64.powi(50) + 0.25, "1125899906842624.2"),
        (2f64.powi(50) + 0.75, "1125899906842624.8"),
        (-167581363823776.125, "-167581363823776.12"),
        (1712200237658961.25, "1712200237658961.2"),
    ] {
        // How Python itself writes this value (Twisted decoded our bytes
        // to the same float, then repr()).
        let r = within("EchoFloat", conn.call(EchoFloat { value: v }))
            .await
            .unwrap();
        assert_eq!(r.repr, python);
        assert!(same_f64(r.value, v));
        let ours = amp::to_value(&v).unwrap();
        if &ours[..] != python.as_bytes() {
            wrong.push(format!(
                "{python}: amp writes {}",
                String::from_utf8_lossy(&ours)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "Float text differs from Twisted's: {wrong:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_encodes_randomised_values_exactly_as_twisted() {
    let (_py, conn, _) = twisted_peer().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Decimals: random texts; Python's str(Decimal(text)) vs ours.
    let texts: Vec<String> = (0..400)
        .map(|_| {
            let mut t = String::new();
            t.push_str(["", "-", "+"][rng.below(3) as usize]);
            let n = 1 + rng.below(30) as usize;
            let point = rng.below(n as u64 + 2) as usize;
            for i in 0..n {
                if i == point {
                    t.push('.');
                }
                t.push((b'0' + rng.below(10) as u8) as char);
            }
            if rng.below(2) == 0 {
                t.push(['E', 'e'][rng.below(2) as usize]);
                t.push_str(["", "-", "+"][rng.below(3) as usize]);
                t.push_str(&rng.below(400).to_string());
            }
            t
        })
        .collect();
    let calls = texts.iter().map(|t| {
        let mut b = AmpBox::new();
        b.insert("value", t.clone());
        conn.call_raw("EchoDecimal", b)
    });
    let answers = within("random decimals", join_all(calls)).await;
    for (t, a) in texts.iter().zip(answers) {
        let theirs = a.unwrap_or_else(|e| panic!("Decimal {t:?}: {e:?}"));
        let ours = amp::to_value(&dec(t)).unwrap();
        assert_eq!(theirs.get("value"), Some(&ours[..]), "Decimal({t:?})");
    }

    // DateTimes: random instants and offsets (whole minutes, under a day).
    let values: Vec<DateTime<FixedOffset>> = (0..300)
        .map(|_| {
            dt(
                1 + rng.below(9999) as i32,
                1 + rng.below(12) as u32,
                1 + rng.below(28) as u32,
                rng.below(24) as u32,
                rng.below(60) as u32,
                rng.below(60) as u32,
                rng.below(1_000_000) as u32,
                rng.below(2 * 1439 + 1) as i32 - 1439,
            )
        })
        .collect();
    let calls = values.iter().map(|v| {
        let mut b = AmpBox::new();
        b.insert("value", amp::to_value(v).unwrap());
        conn.call_raw("EchoDateTime", b)
    });
    let answers = within("random datetimes", join_all(calls)).await;
    for (v, a) in values.iter().zip(answers) {
        let theirs = a.unwrap_or_else(|e| panic!("DateTime {v:?}: {e:?}"));
        assert_eq!(
            theirs.get("value"),
            Some(&amp::to_value(v).unwrap()[..]),
            "{v:?}"
        );
    }
    // Floats: random bit patterns and random short decimals; Twisted's
    // re-encoding (Python's str(float)) must equal ours byte for byte.
    for chunk in 0..5 {
        let floats: Vec<f64> = (0..2000)
            .map(|i| match i % 3 {
                0 => f64::from_bits(rng.next()),
                1 => (rng.below(2_000_000) as f64 - 1e6) / 10f64.powi(rng.below(12) as i32),
                _ => (rng.next() as f64) * 10f64.powi(rng.below(600) as i32 - 300),
            })
            .collect();
        let ours = amp::to_value(&floats).unwrap();
        let mut b = AmpBox::new();
        for k in ["ints", "texts", "nested", "bins"] {
            b.insert(k, "");
        }
        b.insert("floats", ours.clone());
        let ans = within("random floats", conn.call_raw("EchoLists", b))
            .await
            .unwrap();
        if ans.get("floats") != Some(&ours) {
            // Compare element by element, as texts (ListOf(String) view).
            let theirs: Vec<Vec<u8>> = amp::from_value(ans.get_bytes("floats").unwrap()).unwrap();
            let mine: Vec<Vec<u8>> = amp::from_value(ours).unwrap();
            let diffs: Vec<String> = mine
                .iter()
                .zip(&theirs)
                .filter(|(m, t)| m != t)
                .map(|(m, t)| {
                    format!(
                        "ours {} vs Python {}",
                        String::from_utf8_lossy(m),
                        String::from_utf8_lossy(t)
                    )
                })
                .collect();
            panic!("chunk {chunk}: float text differs from Python's str(): {diffs:#?}");
        }
    }

    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_twisted_with_bulk_values_in_flight() {
    let (_py, conn, _) = twisted_peer().await;
    // 200 values of 60 000 bytes at once: 12 MB each way, boxes split
    // across reads and writes at arbitrary points.
    let blobs: Vec<Vec<u8>> = (0..200u32)
        .map(|i| {
            (0..60_000u32)
                .map(|j| (i.wrapping_mul(31) ^ j.wrapping_mul(7)) as u8)
                .collect()
        })
        .collect();
    let calls = blobs
        .iter()
        .map(|b| conn.call(EchoString { value: b.clone() }));
    let rs = within_for(Duration::from_secs(120), "bulk EchoString", join_all(calls)).await;
    for (i, (r, b)) in rs.into_iter().zip(&blobs).enumerate() {
        let r = r.unwrap_or_else(|e| panic!("bulk {i}: {e:?}"));
        assert!(r.value == *b, "bulk {i}: value differs");
    }
    let ints: Vec<BigInt> = (-3000..3000).map(BigInt::from).collect();
    let r = within(
        "bulk EchoLists",
        conn.call(EchoLists {
            ints: ints.clone(),
            texts: vec!["é".repeat(1000); 20],
            nested: vec![ints[..100].to_vec(); 50],
            bins: vec![],
            floats: vec![],
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.ints, ints);
    assert_eq!(r.nested.len(), 50);
    assert!(!conn.is_closed());
}
