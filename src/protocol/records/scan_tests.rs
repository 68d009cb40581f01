//! Unit tests of the records' framing scan (`scan_record_bodies`, the
//! scan behind Kafka's `LogValidator` in-place path): varint edge cases,
//! refusals, and a property check that the fast scan agrees with a plain
//! byte-at-a-time reference decoder on random valid and mutated bodies.

use super::*;

// ---- a reference decoder: one byte at a time, no fast paths ----

fn ref_uvarint(b: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64> {
    let mut v = 0u64;
    for i in 0..max_bytes {
        let byte = match b.get(*pos) {
            Some(&x) => x,
            None => return Err(scan_err("varint runs past the end")),
        };
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(scan_err("varint too long"))
}
fn ref_varint(b: &[u8], pos: &mut usize) -> Result<i32> {
    let v = ref_uvarint(b, pos, 5)?;
    if v > u32::MAX as u64 {
        return Err(scan_err("varint too long"));
    }
    let v = v as u32;
    Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
}
fn ref_varlong(b: &[u8], pos: &mut usize) -> Result<i64> {
    let v = ref_uvarint(b, pos, 10)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}
fn ref_skip(b: &[u8], pos: &mut usize, end: usize) -> Result<bool> {
    let len = ref_varint(b, pos)?;
    if len == -1 {
        return Ok(false);
    }
    if len < -1 || *pos + len as usize > end {
        return Err(invalid(format!("field length {len} exceeds the record")));
    }
    *pos += len as usize;
    Ok(true)
}

/// The scan as it was before the fast paths (same checks, same order).
fn ref_scan(body: &[u8], count: i32) -> Result<Vec<RecordSummary>> {
    let mut out = Vec::new();
    ref_scan_with(body, count, |r| out.push(r))?;
    Ok(out)
}

fn ref_scan_with(body: &[u8], count: i32, mut f: impl FnMut(RecordSummary)) -> Result<()> {
    if count < 0 || count as usize > body.len() / 7 + 1 {
        return Err(invalid(format!("records count {count} does not fit {} bytes", body.len())));
    }
    let mut pos = 0usize;
    for _ in 0..count {
        let len = ref_varint(body, &mut pos)?;
        if len < 0 || len as usize > body.len() - pos {
            return Err(invalid(format!("record length {len} exceeds the {} bytes left", body.len() - pos)));
        }
        let end = pos + len as usize;
        let rec = &body[..end];
        if pos >= end {
            return Err(scan_err("empty record"));
        }
        pos += 1;
        let timestamp_delta = ref_varlong(rec, &mut pos)?;
        let offset_delta = ref_varint(rec, &mut pos)?;
        let has_key = ref_skip(rec, &mut pos, end)?;
        ref_skip(rec, &mut pos, end)?;
        let n_headers = ref_varint(rec, &mut pos)?;
        if n_headers < 0 || n_headers as usize > (end - pos) / 2 {
            return Err(invalid(format!("invalid header count {n_headers}")));
        }
        for _ in 0..n_headers {
            if !ref_skip(rec, &mut pos, end)? {
                return Err(invalid("null header key"));
            }
            ref_skip(rec, &mut pos, end)?;
        }
        if pos != end {
            return Err(invalid(format!("record declared {len} bytes but {} were not read", end - pos)));
        }
        f(RecordSummary { offset_delta, timestamp_delta, has_key });
    }
    if pos != body.len() {
        return Err(invalid(format!("{} bytes left over after {count} records", body.len() - pos)));
    }
    Ok(())
}

fn fast_scan(body: &[u8], count: i32) -> Result<Vec<RecordSummary>> {
    let mut out = Vec::new();
    scan_record_bodies(body, count, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

// ---- an encoder for arbitrary record fields ----

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_uvarint(out, ((v << 1) ^ (v >> 31)) as u32 as u64);
}
fn put_varlong(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

#[derive(Clone, Debug)]
struct Rec {
    ts_delta: i64,
    offset_delta: i32,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn put_field(out: &mut Vec<u8>, f: &Option<Vec<u8>>) {
    match f {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

fn encode_record(r: &Rec) -> Vec<u8> {
    let mut inner = vec![0u8]; // attributes
    put_varlong(&mut inner, r.ts_delta);
    put_varint(&mut inner, r.offset_delta);
    put_field(&mut inner, &r.key);
    put_field(&mut inner, &r.value);
    put_varint(&mut inner, r.headers.len() as i32);
    for (k, v) in &r.headers {
        put_field(&mut inner, &Some(k.clone()));
        put_field(&mut inner, v);
    }
    let mut out = Vec::new();
    put_varint(&mut out, inner.len() as i32);
    out.extend_from_slice(&inner);
    out
}

fn encode(recs: &[Rec]) -> Vec<u8> {
    recs.iter().flat_map(encode_record).collect()
}

/// A whole v2 batch around `body` (valid CRC), for the record decoder.
fn wrap_batch(body: &[u8], count: i32) -> RecordBatch {
    let mut b = vec![0u8; RECORD_BATCH_OVERHEAD];
    let len = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + body.len()) as i32;
    b[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    b[MAGIC_OFFSET] = MAGIC_V2 as u8;
    b[LAST_OFFSET_DELTA_OFFSET..LAST_OFFSET_DELTA_OFFSET + 4].copy_from_slice(&(count - 1).to_be_bytes());
    b[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&(-1i64).to_be_bytes());
    b[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&count.to_be_bytes());
    b.extend_from_slice(body);
    let crc = crc32c(&b[ATTRIBUTES_OFFSET..]);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    RecordBatch::parse(Bytes::from(b)).unwrap()
}

/// xorshift64*: a small deterministic generator (no crate needed).
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
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A length whose varint takes 1, 2 or 3 bytes.
    fn len(&mut self) -> usize {
        match self.below(10) {
            0..=5 => self.below(64) as usize,
            6..=8 => 64 + self.below(8192) as usize,
            _ => 8192 + self.below(20_000) as usize,
        }
    }
    fn field(&mut self) -> Option<Vec<u8>> {
        if self.below(5) == 0 {
            None
        } else {
            let n = self.len();
            Some(self.bytes(n))
        }
    }
    /// A value with every varint length equally likely, signs mixed.
    fn wide_i64(&mut self) -> i64 {
        let bits = self.below(64) as u32;
        let v = (self.next() >> (63 - bits)) as i64;
        if self.below(2) == 0 {
            v
        } else {
            v.wrapping_neg()
        }
    }
    fn record(&mut self, i: i32) -> Rec {
        let n_headers = match self.below(6) {
            0..=3 => 0,
            4 => 1,
            _ => 2 + self.below(3) as usize,
        };
        Rec {
            ts_delta: if self.below(4) == 0 { self.wide_i64() } else { self.below(300) as i64 },
            offset_delta: if self.below(8) == 0 { self.wide_i64() as i32 } else { i },
            key: self.field(),
            value: self.field(),
            headers: (0..n_headers)
                .map(|_| {
                    let k = self.below(20) as usize;
                    (self.bytes(k), self.field())
                })
                .collect(),
        }
    }
}

// ---- varint edge cases ----

/// Decodes a varint/varlong with the scanner, once at the very end of the
/// buffer (the byte-by-byte tail path) and once followed by padding (the
/// window path): both must give the same answer and the same position.
fn both_varint(enc: &[u8]) -> Result<(i32, usize)> {
    let mut p = 0;
    let tail = scan_varint(enc, &mut p).map(|v| (v, p));
    let mut padded = enc.to_vec();
    padded.extend_from_slice(&[0x55; 12]);
    let mut p = 0;
    let window = scan_varint(&padded, &mut p).map(|v| (v, p));
    let mut p = 0;
    let reference = ref_varint(&padded, &mut p).map(|v| (v, p));
    assert_eq!(tail, window, "{enc:02x?}");
    assert_eq!(window, reference, "{enc:02x?}");
    window
}
fn both_varlong(enc: &[u8]) -> Result<(i64, usize)> {
    let mut p = 0;
    let tail = scan_varlong(enc, &mut p).map(|v| (v, p));
    let mut padded = enc.to_vec();
    padded.extend_from_slice(&[0x55; 12]);
    let mut p = 0;
    let window = scan_varlong(&padded, &mut p).map(|v| (v, p));
    let mut p = 0;
    let reference = ref_varlong(&padded, &mut p).map(|v| (v, p));
    assert_eq!(tail, window, "{enc:02x?}");
    assert_eq!(window, reference, "{enc:02x?}");
    window
}

#[test]
fn varint_lengths_and_extremes() {
    for v in [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 1 << 20, -(1 << 27), i32::MAX, i32::MIN] {
        let mut enc = Vec::new();
        put_varint(&mut enc, v);
        assert_eq!(both_varint(&enc), Ok((v, enc.len())), "{v}");
    }
    // The longest varints: 5 bytes for i32::MIN / i32::MAX.
    assert_eq!(both_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Ok((i32::MIN, 5)));
    assert_eq!(both_varint(&[0xfe, 0xff, 0xff, 0xff, 0x0f]), Ok((i32::MAX, 5)));
    // Padded (non-canonical) but within 5 bytes: accepted, as Kafka does.
    assert_eq!(both_varint(&[0x82, 0x80, 0x80, 0x80, 0x00]), Ok((1, 5)));
    for v in [0i64, -1, 1 << 40, -(1 << 55), i64::MAX, i64::MIN] {
        let mut enc = Vec::new();
        put_varlong(&mut enc, v);
        assert_eq!(both_varlong(&enc), Ok((v, enc.len())), "{v}");
    }
    // The longest varlong: 10 bytes.
    let mut max = vec![0xff; 9];
    max.push(0x01);
    assert_eq!(both_varlong(&max), Ok((i64::MIN, 10)));
}

#[test]
fn overlong_varints_are_refused() {
    // A 5-byte varint whose value needs more than 32 bits.
    for last in [0x10u8, 0x7f] {
        assert_eq!(both_varint(&[0xff, 0xff, 0xff, 0xff, last]), Err(scan_err("varint too long")));
    }
    // A varint still continuing at its 5th byte, a varlong at its 10th.
    for n in [5usize, 6, 10, 11] {
        let mut enc = vec![0x80; n];
        enc.push(0x00);
        assert_eq!(both_varint(&enc), Err(scan_err("varint too long")), "{n}");
    }
    for n in [10usize, 11, 15] {
        let mut enc = vec![0x80; n];
        enc.push(0x00);
        assert_eq!(both_varlong(&enc), Err(scan_err("varint too long")), "{n}");
    }
    // Running out of bytes in the middle.
    for n in 0..5 {
        let enc = vec![0x81; n];
        let mut p = 0;
        assert_eq!(scan_varint(&enc, &mut p), Err(scan_err("varint runs past the end")));
        let mut p = 0;
        assert_eq!(scan_varlong(&enc, &mut p), Err(scan_err("varint runs past the end")));
    }
}

// ---- record refusals ----

fn simple(i: i32) -> Rec {
    Rec { ts_delta: i as i64, offset_delta: i, key: Some(b"k".to_vec()), value: Some(vec![7; 100]), headers: vec![] }
}

/// One record built from raw fields after the length, with a correct length prefix.
fn raw_record(inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, inner.len() as i32);
    out.extend_from_slice(inner);
    out
}

fn code_of(r: Result<Vec<RecordSummary>>) -> ErrorCode {
    r.unwrap_err().error_code()
}

#[test]
fn negative_lengths_other_than_minus_one_are_refused() {
    for bad in [-2, -3, -100, i32::MIN] {
        // key, value, header key, header value
        for which in 0..4 {
            let mut inner = vec![0u8, 0, 0]; // attributes, ts delta 0, offset delta 0
            let field = |inner: &mut Vec<u8>, n: usize| {
                if which == n {
                    put_varint(inner, bad);
                } else {
                    put_varint(inner, 1);
                    inner.push(b'x');
                }
            };
            field(&mut inner, 0);
            field(&mut inner, 1);
            put_varint(&mut inner, 1);
            field(&mut inner, 2);
            field(&mut inner, 3);
            let body = raw_record(&inner);
            assert_eq!(fast_scan(&body, 1), ref_scan(&body, 1));
            assert_eq!(code_of(fast_scan(&body, 1)), ec::INVALID_RECORD, "length {bad} in field {which}");
        }
        // A negative record length and a negative header count.
        let mut body = Vec::new();
        put_varint(&mut body, bad);
        body.extend_from_slice(&[0; 10]);
        assert_eq!(code_of(fast_scan(&body, 1)), ec::INVALID_RECORD);
        let mut inner = vec![0u8, 0, 0, 1, 1];
        put_varint(&mut inner, bad);
        let body = raw_record(&inner);
        assert_eq!(fast_scan(&body, 1), ref_scan(&body, 1));
        assert_eq!(code_of(fast_scan(&body, 1)), ec::INVALID_RECORD);
    }
    // -1 is null: fine for key, value and header value, refused for a header key.
    // (zig-zag: 1 is -1, 2 is 1)
    let body = raw_record(&[0, 0, 0, 1, 1, 2, 2, b'k', 1]);
    assert_eq!(fast_scan(&body, 1), Ok(vec![RecordSummary { offset_delta: 0, timestamp_delta: 0, has_key: false }]));
    let body = raw_record(&[0, 0, 0, 1, 1, 2, 1, 1]);
    assert_eq!(fast_scan(&body, 1), Err(invalid("null header key")));
}

#[test]
fn truncated_records_are_refused() {
    let recs: Vec<Rec> = (0..5).map(simple).collect();
    let mut recs = recs;
    recs[2].headers = vec![(b"h".to_vec(), Some(b"v".to_vec())), (b"g".to_vec(), None)];
    let body = encode(&recs);
    assert_eq!(fast_scan(&body, 5).unwrap().len(), 5);
    for cut in 0..body.len() {
        let r = fast_scan(&body[..cut], 5);
        assert_eq!(r, ref_scan(&body[..cut], 5), "cut at {cut}");
        assert_eq!(code_of(r), ec::INVALID_RECORD, "cut at {cut}");
    }
    // A record whose length is one short of its fields, or one long.
    let inner = &encode_record(&simple(0))[2..]; // after its 2-byte length
    let mut short = raw_record(&inner[..inner.len() - 1]);
    short.push(inner[inner.len() - 1]);
    assert_eq!(fast_scan(&short, 1), ref_scan(&short, 1));
    assert_eq!(code_of(fast_scan(&short, 1)), ec::INVALID_RECORD);
    let mut long = inner.to_vec();
    long.push(0);
    let long = raw_record(&long);
    assert_eq!(fast_scan(&long, 1), Err(invalid(format!("record declared {} bytes but 1 were not read", inner.len() + 1))));
    // An empty record (length 0).
    assert_eq!(fast_scan(&[0], 1), Err(scan_err("empty record")));
}

#[test]
fn record_count_must_match() {
    let body = encode(&(0..4).map(simple).collect::<Vec<_>>());
    assert_eq!(fast_scan(&body, 4).unwrap().len(), 4);
    for count in [0, 1, 3] {
        assert_eq!(fast_scan(&body, count), ref_scan(&body, count));
        assert!(matches!(fast_scan(&body, count), Err(RecordsError::InvalidRecord(m)) if m.contains("left over")));
    }
    for count in [5, 40, i32::MAX, -1, i32::MIN] {
        assert_eq!(fast_scan(&body, count), ref_scan(&body, count));
        assert_eq!(code_of(fast_scan(&body, count)), ec::INVALID_RECORD, "count {count}");
    }
}

// ---- property: fast scan == reference, on random valid and mutated bodies ----

#[test]
fn fast_scan_agrees_with_the_reference_decoder() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut valid, mut refused) = (0, 0);
    for round in 0..1500 {
        let n = 1 + rng.below(12) as i32;
        let recs: Vec<Rec> = (0..n).map(|i| rng.record(i)).collect();
        let body = encode(&recs);
        // Valid: both agree with what was encoded, and with the full record decoder.
        let fast = fast_scan(&body, n).unwrap();
        assert_eq!(Ok(fast.clone()), ref_scan(&body, n));
        for (s, r) in fast.iter().zip(&recs) {
            assert_eq!((s.offset_delta, s.timestamp_delta, s.has_key), (r.offset_delta, r.ts_delta, r.key.is_some()));
        }
        let batch = wrap_batch(&body, n);
        let decoded = batch.records().unwrap();
        assert_eq!(decoded.len(), recs.len());
        for (d, r) in decoded.iter().zip(&recs) {
            assert_eq!(d.offset_delta, r.offset_delta);
            assert_eq!(d.key.as_deref(), r.key.as_deref());
            assert_eq!(d.value.as_deref(), r.value.as_deref());
            assert_eq!(d.headers.len(), r.headers.len());
        }
        let mut via_batch = Vec::new();
        batch
            .scan_records(|s| {
                via_batch.push(s);
                Ok(())
            })
            .unwrap();
        assert_eq!(via_batch, fast);
        valid += 1;
        // Mutated: a few random edits (byte changes biased to varint-looking
        // bytes, insertions, deletions, a truncation) and a wrong count.
        for _ in 0..8 {
            let mut m = body.clone();
            let edits = 1 + rng.below(3);
            for _ in 0..edits {
                if m.is_empty() {
                    break;
                }
                let at = rng.below(m.len() as u64) as usize;
                match rng.below(6) {
                    0 => m[at] = rng.next() as u8,
                    1 => m[at] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0f, 0x10][rng.below(7) as usize],
                    2 => m[at] ^= 0x80,
                    3 => m.insert(at, rng.next() as u8),
                    4 => {
                        m.remove(at);
                    }
                    _ => m.truncate(at),
                }
            }
            let count = if rng.below(5) == 0 { n + rng.below(3) as i32 - 1 } else { n };
            let fast = fast_scan(&m, count);
            assert_eq!(fast, ref_scan(&m, count), "round {round}: {m:02x?} count {count}");
            if fast.is_err() {
                refused += 1;
            }
        }
    }
    // The generator exercised both outcomes.
    assert_eq!(valid, 1500);
    assert!(refused > 5000, "only {refused} mutations refused");
}

// ---- a timing comparison (printed, never asserted; run by hand) ----

/// `cargo test --release --lib scan_speed -- --ignored --nocapture`: ns per
/// record of the reference (byte-at-a-time, the scan before the fast paths)
/// and the fast scan over batches shaped like rdkafka_performance's (100 B
/// values, null keys, no headers, offset deltas 0..n, small timestamp
/// deltas), 10,000 records a batch; the better of 5 tries each, interleaved.
#[test]
#[ignore]
fn scan_speed() {
    let recs: Vec<Rec> = (0..10_000)
        .map(|i| Rec { ts_delta: (i / 2000) as i64, offset_delta: i, key: None, value: Some(vec![0x61; 100]), headers: vec![] })
        .collect();
    let body = encode(&recs);
    let rounds = 200;
    let time = |f: &dyn Fn() -> i64| {
        let t = std::time::Instant::now();
        let mut acc = 0i64;
        for _ in 0..rounds {
            acc = acc.wrapping_add(std::hint::black_box(f()));
        }
        (t.elapsed().as_nanos() as f64 / (rounds as f64 * 10_000.0), acc)
    };
    let reference = || {
        let mut s = 0i64;
        ref_scan_with(std::hint::black_box(&body[..]), 10_000, |r| {
            s += r.timestamp_delta + r.offset_delta as i64 + r.has_key as i64;
        })
        .unwrap();
        s
    };
    let fast = || {
        let mut s = 0i64;
        scan_record_bodies(std::hint::black_box(&body[..]), 10_000, |r| {
            s += r.timestamp_delta + r.offset_delta as i64 + r.has_key as i64;
            Ok(())
        })
        .unwrap();
        s
    };
    let (mut best_ref, mut best_fast) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let (r, a) = time(&reference);
        let (f, b) = time(&fast);
        assert_eq!(a, b);
        best_ref = best_ref.min(r);
        best_fast = best_fast.min(f);
    }
    println!("scan of 100 B records: reference {best_ref:.2} ns/record, fast {best_fast:.2} ns/record ({:.2}x)", best_ref / best_fast);
}
