//! Golden tests against the pinned Twisted: `interop/golden.py` prints what
//! Twisted writes and reads; every case must match byte for byte.
//!
//! The interpreter is `$AMP_PYTHON`, else `<workspace>/interop/.venv/bin/python`
//! (created by `scripts/setup-interop.sh`). A missing interpreter fails the
//! test: these checks are never skipped silently.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use amp_wire::__private::{get_arg, record_decode, record_decode_items, record_encode};
use amp_wire::{
    decode_all, from_value, to_value, AmpBox, Argument, Context, Decimal, DecodeError, EncodeError,
    FieldWriter, Record,
};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use num_bigint::{BigInt, BigUint};

// ---------------------------------------------------------------- plumbing

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let p = match std::env::var_os("AMP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace().join("interop/.venv/bin/python"),
    };
    assert!(
        p.exists(),
        "the golden tests need the pinned Twisted interpreter at {} (not found). \
         Run scripts/setup-interop.sh (or set AMP_PYTHON to a python with \
         Twisted 26.10.0 installed).",
        p.display()
    );
    p
}

fn run_script(args: &[&str], stdin: &[u8]) -> String {
    let script = workspace().join("interop/golden.py");
    let mut child = Command::new(python())
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        input.write_all(&stdin).expect("write to golden.py");
    });
    let out = child.wait_with_output().expect("golden.py output");
    writer.join().expect("stdin writer");
    assert!(
        out.status.success(),
        "golden.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("golden.py prints UTF-8")
}

/// A tiny JSON reader, enough for golden.py's output (objects whose values
/// are strings, inside one array or one per line).
struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) {
        assert!(self.eat(c), "JSON: expected {:?} at {}", c as char, self.i);
    }
    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            out.push(char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap());
                        }
                        other => out.push(other as char),
                    }
                }
                _ => out.push(c as char),
            }
        }
    }
    fn object(&mut self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        self.expect(b'{');
        if self.eat(b'}') {
            return m;
        }
        loop {
            let k = self.string();
            self.expect(b':');
            let v = self.string();
            m.insert(k, v);
            if self.eat(b'}') {
                return m;
            }
            self.expect(b',');
        }
    }
    fn array_of_objects(&mut self) -> Vec<HashMap<String, String>> {
        let mut v = Vec::new();
        self.expect(b'[');
        if self.eat(b']') {
            return v;
        }
        loop {
            v.push(self.object());
            if self.eat(b']') {
                return v;
            }
            self.expect(b',');
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ASCII hex");
            assert_eq!(pair.len(), 2, "odd hex {s:?}");
            u8::from_str_radix(pair, 16).expect("hex")
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

fn utf8_hex(s: &str) -> String {
    hex(s.as_bytes())
}

fn from_hex_utf8(h: &str) -> String {
    String::from_utf8(unhex(h)).expect("utf-8")
}

// ------------------------------------------------- the AmpList record type

/// `AmpList([(b'a', Integer()), (b'b', Unicode())])`, implemented by hand.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    a: BigInt,
    b: String,
}

impl Record for Item {
    const FIELDS: &'static [&'static str] = &["a", "b"];
    fn write_fields(
        &self,
        w: &mut FieldWriter<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), EncodeError> {
        w.put("a", &self.a, cx)?;
        w.put("b", &self.b, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Item {
            a: get_arg(b, "a", cx)?,
            b: get_arg(b, "b", cx)?,
        })
    }
}

impl Argument for Item {
    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        record_encode(self, out, cx)
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        record_decode(raw, cx)
    }
    fn encode_item(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        record_encode(self, out, cx)
    }
    fn decode_items(raw: Bytes, cx: &mut Context<'_>) -> Result<Vec<Self>, DecodeError> {
        record_decode_items(raw, cx)
    }
}

// ------------------------------------- descriptions, as golden.py's describe()

fn describe_float(x: f64) -> String {
    if x.is_nan() {
        if x.is_sign_negative() { "-nan" } else { "nan" }.to_string()
    } else {
        format!("{:016x}", x.to_bits())
    }
}

fn float_of(desc: &str) -> f64 {
    match desc {
        "nan" => f64::NAN,
        "-nan" => -f64::NAN,
        bits => f64::from_bits(u64::from_str_radix(bits, 16).expect("float bits")),
    }
}

fn describe_decimal(d: &Decimal) -> String {
    match d.exponent() {
        Some(e) => format!("{}|{}|{}", u8::from(d.is_sign_negative()), d.digits(), e),
        None => d.to_string(),
    }
}

fn decimal_of(desc: &str) -> Decimal {
    let parts: Vec<&str> = desc.split('|').collect();
    match parts.as_slice() {
        [sign, digits, exp] => Decimal::from_parts(
            *sign == "1",
            digits.parse::<BigUint>().expect("digits"),
            exp.parse().expect("exponent"),
        )
        .expect("in range"),
        _ => desc.parse().expect("special decimal"),
    }
}

fn describe_datetime(t: &DateTime<FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{},{},{},{},{},{},{},{}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000,
        t.offset().local_minus_utc()
    )
}

fn datetime_of(desc: &str) -> DateTime<FixedOffset> {
    let v: Vec<i64> = desc.split(',').map(|x| x.parse().unwrap()).collect();
    let tz = FixedOffset::east_opt(v[7] as i32).unwrap();
    let naive = NaiveDate::from_ymd_opt(v[0] as i32, v[1] as u32, v[2] as u32)
        .unwrap()
        .and_hms_micro_opt(v[3] as u32, v[4] as u32, v[5] as u32, v[6] as u32)
        .unwrap();
    tz.from_local_datetime(&naive).single().unwrap()
}

/// The year of `t`'s instant in UTC.
fn utc_year(t: &DateTime<FixedOffset>) -> i32 {
    chrono::Datelike::year(&t.with_timezone(&Utc))
}

/// Parse a list description `"<count>:<items>"`.
fn list_of<T>(desc: &str, sep: char, f: impl Fn(&str) -> T) -> Vec<T> {
    let (n, items) = desc.split_once(':').expect("list description");
    let n: usize = n.parse().expect("list count");
    let v: Vec<T> = if n == 0 {
        Vec::new()
    } else {
        items.split(sep).map(f).collect()
    };
    assert_eq!(v.len(), n, "list description {desc:?}");
    v
}

fn describe_list<T>(v: &[T], sep: &str, f: impl Fn(&T) -> String) -> String {
    format!(
        "{}:{}",
        v.len(),
        v.iter().map(f).collect::<Vec<_>>().join(sep)
    )
}

fn describe_items(v: &[Item]) -> String {
    describe_list(v, ";", |i| format!("{},{}", i.a, utf8_hex(&i.b)))
}

/// Encode the value golden.py described, with our encoder.
fn encode_described(ty: &str, desc: &str) -> Bytes {
    let r = match ty {
        "integer" => {
            let v: BigInt = desc.parse().unwrap();
            let ours = to_value(&v).unwrap();
            // Fixed-width integers must agree whenever the value fits.
            if let Ok(x) = desc.parse::<i64>() {
                assert_eq!(to_value(&x).unwrap(), ours);
            }
            if let Ok(x) = desc.parse::<u128>() {
                assert_eq!(to_value(&x).unwrap(), ours);
            }
            if let Ok(x) = desc.parse::<i128>() {
                assert_eq!(to_value(&x).unwrap(), ours);
            }
            Ok(ours)
        }
        "float" => to_value(&float_of(desc)),
        "decimal" => to_value(&decimal_of(desc)),
        "datetime" => {
            let t = datetime_of(desc);
            let ours = to_value(&t).unwrap();
            if t.offset().local_minus_utc() == 0 {
                assert_eq!(to_value(&t.with_timezone(&Utc)).unwrap(), ours);
            }
            Ok(ours)
        }
        "boolean" => to_value(&(desc == "True")),
        "unicode" => to_value(&from_hex_utf8(desc)),
        "string" => {
            let v = unhex(desc);
            let ours = to_value(&v).unwrap();
            assert_eq!(to_value(&Bytes::from(v)).unwrap(), ours);
            Ok(ours)
        }
        "path" => to_value(&PathBuf::from(from_hex_utf8(desc))),
        "listof_integer" => to_value(&list_of(desc, ',', |x| x.parse::<BigInt>().unwrap())),
        "listof_unicode" => to_value(&list_of(desc, ',', from_hex_utf8)),
        "listof_listof_integer" => to_value(&list_of(desc, ';', |inner| {
            list_of(inner, ',', |x| x.parse::<BigInt>().unwrap())
        })),
        "amplist" => to_value(&list_of(desc, ';', |item| {
            let (a, b) = item.split_once(',').unwrap();
            Item {
                a: a.parse().unwrap(),
                b: from_hex_utf8(b),
            }
        })),
        other => panic!("unknown type {other}"),
    };
    r.unwrap_or_else(|e| panic!("encoding {ty} {desc}: {e}"))
}

fn dec_enc<T: Argument>(
    input: &[u8],
    describe: impl Fn(&T) -> String,
) -> Result<(String, Bytes), DecodeError> {
    let v: T = from_value(Bytes::copy_from_slice(input))?;
    let wire = to_value(&v).map_err(|e| DecodeError::invalid(e.to_string()))?;
    Ok((describe(&v), wire))
}

/// Decode `input` as `ty` with our decoder: (description, our re-encoding).
fn decode_as(ty: &str, input: &[u8]) -> Result<(String, Bytes), DecodeError> {
    match ty {
        "integer" => {
            let r = dec_enc::<BigInt>(input, |v| v.to_string());
            // Fixed-width decoders agree with BigInt, or fail with a range error.
            let fixed = from_value::<i64>(Bytes::copy_from_slice(input));
            match (&r, fixed) {
                (Ok((d, _)), Ok(x)) => assert_eq!(&x.to_string(), d),
                (Ok((d, _)), Err(_)) => assert!(d.parse::<i64>().is_err(), "i64 rejected {d}"),
                (Err(_), Ok(x)) => panic!("i64 accepted {input:?} as {x}, BigInt did not"),
                (Err(_), Err(_)) => {}
            }
            r
        }
        "float" => dec_enc::<f64>(input, |v| describe_float(*v)),
        "decimal" => dec_enc::<Decimal>(input, describe_decimal),
        "datetime" => {
            let r = dec_enc::<DateTime<FixedOffset>>(input, describe_datetime);
            let utc = from_value::<DateTime<Utc>>(Bytes::copy_from_slice(input));
            match (&r, utc) {
                (Ok((d, _)), Ok(u)) => assert_eq!(datetime_of(d), u),
                (Err(_), Err(_)) => {}
                // A local time in year 1 or 9999 whose UTC instant falls in
                // year 0 or 10000: Twisted keeps the offset, `DateTime<Utc>`
                // cannot hold it (Python's astimezone(utc) fails too).
                (Ok((d, _)), Err(_)) if !(1..=9999).contains(&utc_year(&datetime_of(d))) => {}
                (a, b) => panic!("FixedOffset/Utc disagree on {input:?}: {a:?} {b:?}"),
            }
            r
        }
        "boolean" => dec_enc::<bool>(input, |v| if *v { "True" } else { "False" }.into()),
        "unicode" => dec_enc::<String>(input, |v| utf8_hex(v)),
        "string" => dec_enc::<Vec<u8>>(input, |v| hex(v)),
        "path" => dec_enc::<PathBuf>(input, |v| utf8_hex(v.to_str().unwrap())),
        "listof_integer" => {
            dec_enc::<Vec<BigInt>>(input, |v| describe_list(v, ",", |x| x.to_string()))
        }
        "listof_unicode" => {
            dec_enc::<Vec<String>>(input, |v| describe_list(v, ",", |x| utf8_hex(x)))
        }
        "listof_listof_integer" => dec_enc::<Vec<Vec<BigInt>>>(input, |v| {
            describe_list(v, ";", |inner| describe_list(inner, ",", |x| x.to_string()))
        }),
        "amplist" => dec_enc::<Vec<Item>>(input, |v| describe_items(v)),
        other => panic!("unknown type {other}"),
    }
}

/// Inputs where Twisted is more lenient than amp-rs on purpose: Twisted's
/// `ListOf`/`AmpList` parsers silently drop a truncated trailing element;
/// amp-rs reports it as a decoding error.
const LENIENT_IN_TWISTED: &[&str] = &[
    "from-listof_integer-3",
    "from-listof_integer-4",
    "from-amplist-3",
];

#[test]
fn golden_cases_match_twisted() {
    let out = run_script(&[], b"");
    let cases = Json {
        s: out.as_bytes(),
        i: 0,
    }
    .array_of_objects();
    assert!(cases.len() > 200, "only {} golden cases", cases.len());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for c in &cases {
        let id = &c["id"];
        let ty = c["type"].as_str();
        let value = c["value"].as_str();
        let wire = unhex(&c["wire"]);
        *counts.entry(c["kind"].clone()).or_default() += 1;
        match c["kind"].as_str() {
            "box" => {
                let entries: Vec<(Bytes, Bytes)> = list_of(value, ';', |kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (Bytes::from(unhex(k)), Bytes::from(unhex(v)))
                });
                let b = AmpBox::from_entries(entries.clone());
                assert_eq!(hex(&b.to_bytes().unwrap()), hex(&wire), "{id}: encode");
                let mut dec = amp_wire::BoxDecoder::new();
                let mut buf = BytesMut::from(&wire[..]);
                let got = dec.decode(&mut buf).unwrap().expect("one box");
                assert!(buf.is_empty(), "{id}");
                assert_eq!(got, b, "{id}: decode");
                assert_eq!(decode_all(&Bytes::from(wire)).unwrap(), vec![b], "{id}");
            }
            "to" => {
                let ours = encode_described(ty, value);
                assert_eq!(
                    ours,
                    Bytes::from(wire.clone()),
                    "{id}: our encoding of {ty} {value} differs from Twisted's {:?}",
                    String::from_utf8_lossy(&wire)
                );
                // And our decoder reads Twisted's bytes back to the value.
                let (desc, again) = decode_as(ty, &wire).unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(desc, value, "{id}: decode");
                assert_eq!(again, Bytes::from(wire), "{id}: re-encode");
            }
            "from" => {
                let input = unhex(&c["input"]);
                let got = decode_as(ty, &input);
                if LENIENT_IN_TWISTED.contains(&id.as_str()) {
                    assert!(got.is_err(), "{id}: expected our stricter error");
                    continue;
                }
                match (value, got) {
                    ("ERROR", Err(_)) => {}
                    ("ERROR", Ok(v)) => panic!(
                        "{id}: Twisted rejects {ty} {:?}, we accepted it as {v:?}",
                        String::from_utf8_lossy(&input)
                    ),
                    (_, Err(e)) => panic!(
                        "{id}: Twisted accepts {ty} {:?}, we rejected it: {e}",
                        String::from_utf8_lossy(&input)
                    ),
                    (_, Ok((desc, again))) => {
                        assert_eq!(
                            desc,
                            value,
                            "{id}: value of {:?}",
                            String::from_utf8_lossy(&input)
                        );
                        assert_eq!(hex(&again), hex(&wire), "{id}: re-encoding");
                    }
                }
            }
            other => panic!("unknown kind {other}"),
        }
    }
    for kind in ["box", "to", "from"] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 5,
            "few {kind} cases"
        );
    }
}

// ------------------------------- Python parses what we write (random values)

/// xorshift64*: deterministic pseudo-random numbers without a dependency.
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

enum Expect {
    /// Python's description and re-encoding must equal ours exactly.
    Same(String),
    /// An f32 we sent: Python's double must narrow back to it.
    F32(f32),
}

#[test]
fn python_parses_our_encodings() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut lines = String::new();
    let mut expects: Vec<(String, Bytes, Expect)> = Vec::new();
    let mut push = |ty: &str, wire: Bytes, e: Expect, lines: &mut String| {
        lines.push_str(&format!("{ty} {}\n", hex(&wire)));
        expects.push((ty.to_string(), wire, e));
    };

    // Floats: random bit patterns, random "decimal-looking" values, specials.
    let mut floats: Vec<f64> = vec![
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324,
        1e16,
        9999999999999998.0,
        1e-4,
        9.999999999999999e-5,
    ];
    for _ in 0..1500 {
        floats.push(f64::from_bits(rng.next()));
    }
    for _ in 0..500 {
        let m = rng.below(1_000_000) as f64;
        let e = rng.below(44) as i32 - 22;
        floats.push(m * 10f64.powi(e));
    }
    for x in floats {
        let w = to_value(&x).unwrap();
        push("float", w, Expect::Same(describe_float(x)), &mut lines);
    }
    // f32: random bit patterns.
    for _ in 0..500 {
        let x = f32::from_bits(rng.next() as u32);
        if x.is_nan() {
            continue;
        }
        push("float", to_value(&x).unwrap(), Expect::F32(x), &mut lines);
    }
    // Decimals: random coefficients and exponents, and specials.
    for _ in 0..600 {
        let ndigits = 1 + rng.below(40) as usize;
        let digits: String = (0..ndigits)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        let exp = match rng.below(4) {
            0 => rng.below(20) as i64 - 10,
            1 => rng.below(200) as i64 - 100,
            2 => rng.below(2_000_000) as i64 - 1_000_000,
            _ => {
                (rng.next() % 999_999_999_999_999_000) as i64
                    * if rng.below(2) == 0 { 1 } else { -1 }
            }
        };
        let Some(d) = Decimal::from_parts(rng.below(2) == 0, digits.parse().unwrap(), exp) else {
            continue;
        };
        push(
            "decimal",
            to_value(&d).unwrap(),
            Expect::Same(describe_decimal(&d)),
            &mut lines,
        );
    }
    for text in [
        "NaN",
        "-NaN",
        "sNaN",
        "-sNaN",
        "NaN42",
        "-sNaN7",
        "Infinity",
        "-Infinity",
    ] {
        let d: Decimal = text.parse().unwrap();
        push(
            "decimal",
            to_value(&d).unwrap(),
            Expect::Same(describe_decimal(&d)),
            &mut lines,
        );
    }
    // DateTimes: random instants and offsets.
    for _ in 0..300 {
        let off = rng.below(2 * 1439 + 1) as i32 - 1439;
        let tz = FixedOffset::east_opt(off * 60).unwrap();
        let secs = rng.below(253_402_300_800 - 86_400 * 2) as i64 - 62_135_596_800 + 86_400;
        let nanos = rng.below(1_000_000_000) as u32;
        let t = DateTime::from_timestamp(secs, nanos)
            .unwrap()
            .with_timezone(&tz);
        let w = to_value(&t).unwrap();
        // Python only has microseconds: compare with the truncated value.
        let trunc = DateTime::from_timestamp(secs, nanos / 1000 * 1000)
            .unwrap()
            .with_timezone(&tz);
        push(
            "datetime",
            w,
            Expect::Same(describe_datetime(&trunc)),
            &mut lines,
        );
    }
    // Integers of every size.
    for _ in 0..300 {
        let words = 1 + rng.below(4) as usize;
        let mut v = BigInt::from(0);
        for _ in 0..words {
            v = (v << 64) + BigInt::from(rng.next());
        }
        if rng.below(2) == 0 {
            v = -v;
        }
        push(
            "integer",
            to_value(&v).unwrap(),
            Expect::Same(v.to_string()),
            &mut lines,
        );
    }
    for v in [i64::MIN as i128, i64::MAX as i128, i128::MIN, i128::MAX, 0] {
        push(
            "integer",
            to_value(&v).unwrap(),
            Expect::Same(v.to_string()),
            &mut lines,
        );
    }
    push(
        "integer",
        to_value(&u128::MAX).unwrap(),
        Expect::Same(u128::MAX.to_string()),
        &mut lines,
    );

    let out = run_script(&["check"], lines.as_bytes());
    let results: Vec<_> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            Json {
                s: l.as_bytes(),
                i: 0,
            }
            .object()
        })
        .collect();
    assert_eq!(results.len(), expects.len());
    for ((ty, ours, expect), py) in expects.iter().zip(&results) {
        let text = String::from_utf8_lossy(ours);
        assert!(
            !py.contains_key("error"),
            "Python rejected our {ty} {text:?}: {py:?}"
        );
        match expect {
            Expect::Same(desc) => {
                assert_eq!(
                    &py["value"], desc,
                    "Python read our {ty} {text:?} as another value"
                );
                assert_eq!(
                    py["wire"],
                    hex(ours),
                    "Python writes {ty} {text:?} differently"
                );
            }
            Expect::F32(x) => {
                let back = float_of(&py["value"]) as f32;
                assert_eq!(back.to_bits(), x.to_bits(), "f32 {text:?}");
            }
        }
    }
}
