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
//! `typed/*` adds the Record layer and the session (tags, dispatch), as a
//! connection runs them without I/O; the records are implemented here by
//! hand exactly as `#[derive(Record)]` expands (amp-wire cannot use the
//! derive).

use amp_wire::__private::get_arg;
use amp_wire::session::{Event, Session};
use amp_wire::{
    AmpBox, BoxDecoder, Config, Context, DecodeError, EncodeError, FieldWriter, Record,
};
use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::task::Waker;
use std::time::{Duration, Instant};

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
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put::<i64>("a", &self.a, cx)?;
        w.put::<i64>("b", &self.b, cx)
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
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put::<i64>("total", &self.total, cx)
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
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put::<Bytes>("data", &self.data, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Blob {
            data: get_arg::<Bytes>(b, "data", cx)?,
        })
    }
}

fn tag(i: u64) -> String {
    format!("{i:x}")
}

fn sum_request(i: u64) -> AmpBox {
    let mut b = Sum { a: i as i64, b: 1 }.to_box().unwrap();
    b.insert("_command", "Sum");
    b.insert("_ask", tag(i));
    b
}

fn sum_answer(i: u64) -> AmpBox {
    let mut b = SumResult {
        total: i as i64 + 1,
    }
    .to_box()
    .unwrap();
    b.insert("_answer", tag(i));
    b
}

fn large_answer(i: u64) -> AmpBox {
    let data: Vec<u8> = (0..LARGE_VALUE).map(|j| (j % 251) as u8).collect();
    let mut b = Blob { data: data.into() }.to_box().unwrap();
    b.insert("_answer", tag(i));
    b
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

    // Client: Sum value -> request bytes in the session's output, and the
    // answer bytes -> SumResult (as Connection::call does, minus the I/O).
    g.throughput(Throughput::Elements(SMALL as u64));
    g.bench_function(format!("client_encode_request/{req_len}B"), |bench| {
        let now = Instant::now();
        let mut out = BytesMut::with_capacity(SMALL * req_len);
        bench.iter_batched(
            || Session::new(Config::default(), now),
            |mut s| {
                out.clear();
                for i in 0..SMALL as i64 {
                    let sum = Sum {
                        a: FIRST as i64 + i,
                        b: 1,
                    };
                    s.call(b"Sum", |w| sum.write_fields(w, &mut Context::none()))
                        .unwrap();
                }
                s.poll_transmit(&mut out, now);
                black_box(&out);
            },
            BatchSize::SmallInput,
        )
    });

    // Client: answer bytes -> SumResult, through the session (decode,
    // match the tag, hand the reply over, read_fields).
    let answers = stream(&(1..=SMALL as u64).map(sum_answer).collect::<Vec<_>>());
    g.bench_function(format!("client_decode_answer/{ans_len}B"), |bench| {
        let now = Instant::now();
        let waker = Waker::noop();
        bench.iter_batched(
            || {
                let mut s = Session::new(Config::default(), now);
                for _ in 0..SMALL {
                    s.call(b"Sum", |_| Ok(())).unwrap();
                }
                s.feed(&answers, now);
                s
            },
            |mut s| {
                assert!(s.poll_event(now).is_none());
                let mut sum = 0i64;
                for tag in 1..=SMALL as u64 {
                    match s.poll_reply(tag, waker) {
                        std::task::Poll::Ready(amp_wire::session::Reply::Answer(b)) => {
                            sum += SumResult::from_box(&b).unwrap().total
                        }
                        other => panic!("{other:?}"),
                    }
                }
                black_box(sum);
            },
            BatchSize::LargeInput,
        )
    });

    // Server: request bytes -> Sum -> SumResult -> answer bytes, through
    // the session.
    let requests = stream(
        &(FIRST..FIRST + SMALL as u64)
            .map(sum_request)
            .collect::<Vec<_>>(),
    );
    g.bench_function(format!("server_request_to_answer/{req_len}B"), |bench| {
        let now = Instant::now();
        let mut out = BytesMut::with_capacity(SMALL * ans_len);
        bench.iter_batched(
            || {
                let mut s = Session::new(Config::default(), now);
                s.feed(&requests, now);
                s
            },
            |mut s| {
                out.clear();
                while let Some(Event::Request(req)) = s.poll_event(now) {
                    let sum = Sum::from_box(&req.args).unwrap();
                    let r = SumResult {
                        total: sum.a + sum.b,
                    };
                    s.answer(req.id, |w| r.write_fields(w, &mut Context::none()), now)
                        .unwrap();
                }
                s.poll_transmit(&mut out, now);
                black_box(&out);
            },
            BatchSize::LargeInput,
        )
    });

    // A record with one 60 KiB value, both ways.
    let blob = Blob {
        data: large_answer(0).get_bytes("data").unwrap(),
    };
    let blob_len = blob.to_box().unwrap().encoded_len();
    g.throughput(Throughput::Elements(LARGE as u64));
    g.bench_function(format!("blob_encode/{blob_len}B"), |bench| {
        let mut out = BytesMut::with_capacity(LARGE * blob_len);
        bench.iter(|| {
            out.clear();
            for _ in 0..LARGE {
                let mut w = FieldWriter::new(&mut out, &[]);
                blob.write_fields(&mut w, &mut Context::none()).unwrap();
                w.finish().unwrap();
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
