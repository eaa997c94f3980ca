//! Codec throughput: decoding and encoding streams of AMP boxes, and the
//! typed (Record) encode/decode a call goes through.
//!
//! ```text
//! cargo bench -p amp-wire --bench codec            # everything (~1 minute)
//! cargo bench -p amp-wire --bench codec -- decode  # one group
//! python3 bench/codec_summary.py                   # boxes/s and MB/s table
//! ```
//!
//! Every benchmark reports boxes (elements) per second; its id ends in the
//! wire size of one box (e.g. `sum_request/46B`), so bytes/s is
//! boxes/s x that size (`bench/codec_summary.py` prints both).
//!
//! Inputs:
//!
//! * `sum_request`: the box `math_client` writes for `Sum(a, b=1)`
//!   (`_ask`, `_command`, `a`, `b`), 1000 of them back to back, with the tags
//!   and values of calls 50000..51000 (46 bytes each);
//! * `sum_answer`: the matching answers (`_answer`, `total`; 32 bytes);
//! * `large_60KiB`: 16 answers each carrying one 60 KiB value.
//!
//! `typed/*` adds the Record layer, implemented here by hand exactly as
//! `#[derive(Record)]` expands (amp-wire cannot use the derive).

use amp_wire::dispatch::{self, Dispatcher};
use amp_wire::types::{get_arg, put_arg};
use amp_wire::{AmpBox, BoxDecoder, Context, DecodeError, EncodeError, Record};
use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::Duration;

/// Boxes per iteration for the small-box streams.
const SMALL: usize = 1000;
/// Boxes per iteration for the large-value stream.
const LARGE: usize = 16;
/// Size of the large value.
const LARGE_VALUE: usize = 60 * 1024;
/// First `a` (and tag) of the simulated calls: mid-run values, as in a load
/// test.
const FIRST: u64 = 50_000;

/// `Sum(a, b) -> total`, by hand.
struct Sum {
    a: i64,
    b: i64,
}

impl Record for Sum {
    const FIELDS: &'static [&'static str] = &["a", "b"];
    fn write_fields(&self, b: &mut AmpBox, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut scratch = BytesMut::new();
        put_arg::<i64>(b, "a", &self.a, &mut scratch, cx)?;
        put_arg::<i64>(b, "b", &self.b, &mut scratch, cx)?;
        Ok(())
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Sum {
            a: get_arg::<i64>(b, "a", cx)?,
            b: get_arg::<i64>(b, "b", cx)?,
        })
    }
}

/// The response of [`Sum`].
struct SumResult {
    total: i64,
}

impl Record for SumResult {
    const FIELDS: &'static [&'static str] = &["total"];
    fn write_fields(&self, b: &mut AmpBox, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut scratch = BytesMut::new();
        put_arg::<i64>(b, "total", &self.total, &mut scratch, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(SumResult {
            total: get_arg::<i64>(b, "total", cx)?,
        })
    }
}

/// A record with one large binary value (`String()` in Twisted).
struct Blob {
    data: Bytes,
}

impl Record for Blob {
    const FIELDS: &'static [&'static str] = &["data"];
    fn write_fields(&self, b: &mut AmpBox, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut scratch = BytesMut::new();
        put_arg::<Bytes>(b, "data", &self.data, &mut scratch, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Blob {
            data: get_arg::<Bytes>(b, "data", cx)?,
        })
    }
}

fn sum_request(i: u64) -> AmpBox {
    let mut b = Sum { a: i as i64, b: 1 }.to_box().unwrap();
    b.insert(dispatch::COMMAND, "Sum");
    b.insert(dispatch::ASK, dispatch::format_tag(i));
    b
}

fn sum_answer(i: u64) -> AmpBox {
    let b = SumResult {
        total: i as i64 + 1,
    }
    .to_box()
    .unwrap();
    dispatch::answer_box(dispatch::format_tag(i), b)
}

fn large_answer(i: u64) -> AmpBox {
    let data: Vec<u8> = (0..LARGE_VALUE).map(|j| (j % 251) as u8).collect();
    let b = Blob { data: data.into() }.to_box().unwrap();
    dispatch::answer_box(dispatch::format_tag(i), b)
}

fn stream(boxes: &[AmpBox]) -> BytesMut {
    let mut out = BytesMut::new();
    for b in boxes {
        b.encode(&mut out).unwrap();
    }
    out
}

struct Input {
    name: &'static str,
    boxes: Vec<AmpBox>,
}

impl Input {
    fn id(&self) -> String {
        format!("{}/{}B", self.name, self.boxes[0].encoded_len())
    }
}

fn inputs() -> Vec<Input> {
    vec![
        Input {
            name: "sum_request",
            boxes: (FIRST..FIRST + SMALL as u64).map(sum_request).collect(),
        },
        Input {
            name: "sum_answer",
            boxes: (FIRST..FIRST + SMALL as u64).map(sum_answer).collect(),
        },
        Input {
            name: "large_60KiB",
            boxes: (FIRST..FIRST + LARGE as u64).map(large_answer).collect(),
        },
    ]
}

fn configure() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

/// Split a buffer of whole boxes into boxes, as the connection does with its
/// read buffer.
fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for input in inputs() {
        let wire = stream(&input.boxes);
        g.throughput(Throughput::Elements(input.boxes.len() as u64));
        g.bench_function(input.id(), |bench| {
            bench.iter_batched(
                || (wire.clone(), BoxDecoder::new()),
                |(mut buf, mut dec)| {
                    let mut n = 0;
                    while let Some(b) = dec.decode(&mut buf).unwrap() {
                        black_box(&b);
                        n += 1;
                    }
                    assert_eq!(n, input.boxes.len());
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// Write boxes into one buffer (checked encode), as the connection does
/// with its write buffer.
fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for input in inputs() {
        let mut out = BytesMut::with_capacity(stream(&input.boxes).len());
        g.throughput(Throughput::Elements(input.boxes.len() as u64));
        g.bench_function(input.id(), |bench| {
            bench.iter(|| {
                out.clear();
                for b in &input.boxes {
                    b.encode(&mut out).unwrap();
                }
                black_box(&out);
            })
        });
    }
    g.finish();
}

/// The typed layer: what one call costs in codec work on each side,
/// without any I/O.
fn typed(c: &mut Criterion) {
    let mut g = c.benchmark_group("typed");
    let req_len = sum_request(FIRST).encoded_len();
    let ans_len = sum_answer(FIRST).encoded_len();

    // Client: Sum value -> request bytes (encode_args + Dispatcher::ask +
    // encode, as Connection::call and the driver do).
    g.throughput(Throughput::Elements(SMALL as u64));
    g.bench_function(format!("client_encode_request/{req_len}B"), |bench| {
        let mut d: Dispatcher<()> = Dispatcher::new();
        let mut out = BytesMut::with_capacity(SMALL * req_len);
        bench.iter(|| {
            out.clear();
            for i in 0..SMALL as i64 {
                let mut args = AmpBox::with_capacity(Sum::FIELDS.len() + 2);
                Sum {
                    a: FIRST as i64 + i,
                    b: 1,
                }
                .write_fields(&mut args, &mut Context::none())
                .unwrap();
                args.validate().unwrap();
                let (tag, b) = d.ask(Bytes::from_static(b"Sum"), args, ());
                b.encode_unchecked(&mut out);
                d.forget(tag);
            }
            black_box(&out);
        })
    });

    // Client: answer bytes -> SumResult (decode + read_fields).
    let answers = stream(
        &(FIRST..FIRST + SMALL as u64)
            .map(sum_answer)
            .collect::<Vec<_>>(),
    );
    g.bench_function(format!("client_decode_answer/{ans_len}B"), |bench| {
        bench.iter_batched(
            || (answers.clone(), BoxDecoder::new()),
            |(mut buf, mut dec)| {
                let mut sum = 0i64;
                while let Some(b) = dec.decode(&mut buf).unwrap() {
                    sum += SumResult::from_box(&b).unwrap().total;
                }
                black_box(sum);
            },
            BatchSize::LargeInput,
        )
    });

    // Server: request bytes -> Sum -> SumResult -> answer bytes.
    let requests = stream(
        &(FIRST..FIRST + SMALL as u64)
            .map(sum_request)
            .collect::<Vec<_>>(),
    );
    g.bench_function(format!("server_request_to_answer/{req_len}B"), |bench| {
        let mut out = BytesMut::with_capacity(SMALL * ans_len);
        bench.iter_batched(
            || (requests.clone(), BoxDecoder::new()),
            |(mut buf, mut dec)| {
                out.clear();
                while let Some(req) = dec.decode(&mut buf).unwrap() {
                    let tag = req.get(dispatch::ASK).unwrap().clone();
                    let s = Sum::from_box(&req).unwrap();
                    let mut b = AmpBox::with_capacity(SumResult::FIELDS.len() + 1);
                    SumResult { total: s.a + s.b }
                        .write_fields(&mut b, &mut Context::none())
                        .unwrap();
                    b.validate().unwrap();
                    dispatch::answer_box(tag, b).encode_unchecked(&mut out);
                }
                black_box(&out);
            },
            BatchSize::LargeInput,
        )
    });

    // A record with one 60 KiB value, both ways.
    let blob = Blob {
        data: large_answer(0).get("data").unwrap().clone(),
    };
    let blob_len = blob.to_box().unwrap().encoded_len();
    g.throughput(Throughput::Elements(LARGE as u64));
    g.bench_function(format!("blob_encode/{blob_len}B"), |bench| {
        let mut out = BytesMut::with_capacity(LARGE * blob_len);
        bench.iter(|| {
            out.clear();
            for _ in 0..LARGE {
                blob.to_box().unwrap().encode_unchecked(&mut out);
            }
            black_box(&out);
        })
    });
    let blobs = stream(
        &(0..LARGE)
            .map(|_| blob.to_box().unwrap())
            .collect::<Vec<_>>(),
    );
    g.bench_function(format!("blob_decode/{blob_len}B"), |bench| {
        bench.iter_batched(
            || (blobs.clone(), BoxDecoder::new()),
            |(mut buf, mut dec)| {
                let mut total = 0;
                while let Some(b) = dec.decode(&mut buf).unwrap() {
                    total += Blob::from_box(&b).unwrap().data.len();
                }
                assert_eq!(total, LARGE * LARGE_VALUE);
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = configure();
    targets = decode, encode, typed
}
criterion_main!(benches);
