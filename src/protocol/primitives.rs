//! Typed wire primitives of the Kafka protocol: fixed-width integers, varints,
//! classic and compact (flexible) strings, bytes and arrays, and tagged-field
//! sections. Maps to Kafka's `org.apache.kafka.common.protocol.types` and the
//! readers/writers the message generator emits (`ByteBufferAccessor`).
//!
//! Every read is bounds-checked against the bytes that are really there, so a
//! hostile length can never make us allocate more than the frame we already hold.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;

/// Why a message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The buffer ended before the field did.
    Underflow { wanted: usize, remaining: usize },
    /// A length prefix was negative (and not the null marker) or larger than the frame.
    InvalidLength(i64),
    /// A varint ran longer than its type allows.
    VarintTooLong,
    /// A string was not valid UTF-8.
    InvalidUtf8,
    /// A non-nullable field was null on the wire, or a nullable one was null in a
    /// version that cannot carry null.
    UnexpectedNull(&'static str),
    /// The message does not exist in this version.
    UnsupportedVersion { api_key: i16, version: i16 },
    /// Anything else that makes the bytes meaningless.
    Invalid(String),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Underflow { wanted, remaining } => {
                write!(f, "buffer underflow: wanted {wanted} bytes, {remaining} remain")
            }
            CodecError::InvalidLength(n) => write!(f, "invalid length {n}"),
            CodecError::VarintTooLong => write!(f, "varint too long"),
            CodecError::InvalidUtf8 => write!(f, "string is not valid UTF-8"),
            CodecError::UnexpectedNull(what) => write!(f, "unexpected null for {what}"),
            CodecError::UnsupportedVersion { api_key, version } => {
                write!(f, "api key {api_key} has no version {version}")
            }
            CodecError::Invalid(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for CodecError {}

pub type Result<T> = std::result::Result<T, CodecError>;

/// One tagged field as it came off the wire (tag, raw value). Unknown tags are
/// kept so that a decode/encode round trip is lossless.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaggedFields(pub Vec<(u32, Bytes)>);

impl TaggedFields {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, tag: u32) -> Option<&Bytes> {
        self.0.iter().find(|(t, _)| *t == tag).map(|(_, v)| v)
    }
}

/// Reads primitives from a frame held in memory. Slices (`bytes`, `records`)
/// share the frame's allocation instead of copying it.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    pub fn new(buf: Bytes) -> Self {
        Reader { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// What has not been read yet, without consuming it.
    pub fn rest(&self) -> &Bytes {
        &self.buf
    }

    fn need(&self, n: usize) -> Result<()> {
        if self.buf.len() < n {
            Err(CodecError::Underflow { wanted: n, remaining: self.buf.len() })
        } else {
            Ok(())
        }
    }

    /// Takes the next `n` bytes as a zero-copy slice.
    pub fn take(&mut self, n: usize) -> Result<Bytes> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    pub fn i8(&mut self) -> Result<i8> {
        self.need(1)?;
        Ok(self.buf.get_i8())
    }
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.i8()? != 0)
    }
    pub fn i16(&mut self) -> Result<i16> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }
    pub fn i32(&mut self) -> Result<i32> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }
    pub fn u32(&mut self) -> Result<u32> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }
    pub fn i64(&mut self) -> Result<i64> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }
    pub fn f64(&mut self) -> Result<f64> {
        self.need(8)?;
        Ok(self.buf.get_f64())
    }
    pub fn uuid(&mut self) -> Result<[u8; 16]> {
        self.need(16)?;
        let mut u = [0u8; 16];
        self.buf.copy_to_slice(&mut u);
        Ok(u)
    }

    /// Unsigned LEB128 varint, at most 5 bytes (protocol lengths and tags).
    pub fn unsigned_varint(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.i8()? as u8;
            if i == 4 && b > 0x0f {
                return Err(CodecError::VarintTooLong);
            }
            value |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::VarintTooLong)
    }

    /// Unsigned LEB128 varint of up to 10 bytes.
    pub fn unsigned_varlong(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let b = self.i8()? as u8;
            if i == 9 && b > 0x01 {
                return Err(CodecError::VarintTooLong);
            }
            value |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::VarintTooLong)
    }

    /// Zig-zag signed varint (record fields).
    pub fn varint(&mut self) -> Result<i32> {
        let v = self.unsigned_varint()?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Zig-zag signed varlong (record fields).
    pub fn varlong(&mut self) -> Result<i64> {
        let v = self.unsigned_varlong()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Length of a string/bytes/array field: `None` means null. Compact lengths
    /// are `len+1` as an unsigned varint; classic ones are int16 (strings) or
    /// int32 (bytes, arrays) with -1 for null.
    fn length(&mut self, flexible: bool, classic_i16: bool) -> Result<Option<usize>> {
        let n: i64 = if flexible {
            self.unsigned_varint()? as i64 - 1
        } else if classic_i16 {
            self.i16()? as i64
        } else {
            self.i32()? as i64
        };
        if n == -1 {
            return Ok(None);
        }
        if n < 0 || n as usize > self.buf.len() {
            return Err(CodecError::InvalidLength(n));
        }
        Ok(Some(n as usize))
    }

    pub fn nullable_string(&mut self, flexible: bool) -> Result<Option<String>> {
        match self.length(flexible, true)? {
            None => Ok(None),
            Some(n) => {
                let raw = self.take(n)?;
                String::from_utf8(raw.to_vec()).map(Some).map_err(|_| CodecError::InvalidUtf8)
            }
        }
    }

    pub fn string(&mut self, flexible: bool) -> Result<String> {
        self.nullable_string(flexible)?.ok_or(CodecError::UnexpectedNull("string"))
    }

    pub fn nullable_bytes(&mut self, flexible: bool) -> Result<Option<Bytes>> {
        match self.length(flexible, false)? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    pub fn bytes(&mut self, flexible: bool) -> Result<Bytes> {
        self.nullable_bytes(flexible)?.ok_or(CodecError::UnexpectedNull("bytes"))
    }

    /// A RECORDS field: nullable bytes holding record batches, not copied.
    pub fn records(&mut self, flexible: bool) -> Result<Option<Bytes>> {
        self.nullable_bytes(flexible)
    }

    /// Array length; `None` for null. Every element takes at least one byte, so
    /// a count larger than what remains is rejected before anything is allocated.
    pub fn array_len(&mut self, flexible: bool) -> Result<Option<usize>> {
        self.length(flexible, false)
    }

    /// A nullable array whose elements are read by `f`.
    pub fn nullable_array<T>(
        &mut self,
        flexible: bool,
        mut f: impl FnMut(&mut Reader) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        match self.array_len(flexible)? {
            None => Ok(None),
            Some(n) => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(f(self)?);
                }
                Ok(Some(v))
            }
        }
    }

    /// A non-nullable array; null on the wire is an error.
    pub fn array<T>(
        &mut self,
        flexible: bool,
        f: impl FnMut(&mut Reader) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.nullable_array(flexible, f)?.ok_or(CodecError::UnexpectedNull("array"))
    }

    /// Array of int32 (replica lists, ISRs, partition ids).
    pub fn i32_array(&mut self, flexible: bool) -> Result<Vec<i32>> {
        self.array(flexible, |r| r.i32())
    }

    /// The tagged-field section of a struct in a flexible version; nothing
    /// (an empty set) in a non-flexible one.
    pub fn tagged_fields_if(&mut self, flexible: bool) -> Result<TaggedFields> {
        if flexible {
            self.tagged_fields()
        } else {
            Ok(TaggedFields::default())
        }
    }

    /// The tagged-field section that ends every flexible struct. Kept raw.
    pub fn tagged_fields(&mut self) -> Result<TaggedFields> {
        let count = self.unsigned_varint()? as usize;
        if count > self.buf.len() {
            return Err(CodecError::InvalidLength(count as i64));
        }
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            let tag = self.unsigned_varint()?;
            let size = self.unsigned_varint()? as usize;
            let value = self.take(size)?;
            fields.push((tag, value));
        }
        Ok(TaggedFields(fields))
    }
}

/// Writes primitives into a growing buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: BytesMut,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: BytesMut::new() }
    }
    pub fn with_capacity(n: usize) -> Self {
        Writer { buf: BytesMut::with_capacity(n) }
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn into_bytes(self) -> Bytes {
        self.buf.freeze()
    }
    pub fn into_inner(self) -> BytesMut {
        self.buf
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub fn raw(&mut self, b: &[u8]) {
        self.buf.put_slice(b);
    }
    pub fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.buf.put_i8(v as i8);
    }
    pub fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.put_f64(v);
    }
    pub fn uuid(&mut self, v: &[u8; 16]) {
        self.buf.put_slice(v);
    }

    pub fn unsigned_varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }
    pub fn unsigned_varlong(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }
    pub fn varint(&mut self, v: i32) {
        self.unsigned_varint(((v << 1) ^ (v >> 31)) as u32);
    }
    pub fn varlong(&mut self, v: i64) {
        self.unsigned_varlong(((v << 1) ^ (v >> 63)) as u64);
    }

    fn length(&mut self, flexible: bool, classic_i16: bool, len: Option<usize>) {
        match (flexible, len) {
            (true, None) => self.unsigned_varint(0),
            (true, Some(n)) => self.unsigned_varint(n as u32 + 1),
            (false, None) if classic_i16 => self.i16(-1),
            (false, None) => self.i32(-1),
            (false, Some(n)) if classic_i16 => self.i16(n as i16),
            (false, Some(n)) => self.i32(n as i32),
        }
    }

    pub fn nullable_string(&mut self, flexible: bool, s: Option<&str>) {
        self.length(flexible, true, s.map(|s| s.len()));
        if let Some(s) = s {
            self.buf.put_slice(s.as_bytes());
        }
    }
    pub fn string(&mut self, flexible: bool, s: &str) {
        self.nullable_string(flexible, Some(s));
    }
    pub fn nullable_bytes(&mut self, flexible: bool, b: Option<&[u8]>) {
        self.length(flexible, false, b.map(|b| b.len()));
        if let Some(b) = b {
            self.buf.put_slice(b);
        }
    }
    pub fn bytes(&mut self, flexible: bool, b: &[u8]) {
        self.nullable_bytes(flexible, Some(b));
    }
    pub fn records(&mut self, flexible: bool, b: Option<&[u8]>) {
        self.nullable_bytes(flexible, b);
    }
    /// The length prefix of a `records` field of `len` bytes whose content
    /// the caller sends separately, right after what was written so far.
    pub fn records_length_only(&mut self, flexible: bool, len: usize) {
        self.length(flexible, false, Some(len));
    }
    pub fn array_len(&mut self, flexible: bool, len: Option<usize>) {
        self.length(flexible, false, len);
    }
    pub fn array<T>(&mut self, flexible: bool, items: &[T], mut f: impl FnMut(&mut Writer, &T)) {
        self.array_len(flexible, Some(items.len()));
        for it in items {
            f(self, it);
        }
    }
    pub fn nullable_array<T>(
        &mut self,
        flexible: bool,
        items: Option<&[T]>,
        f: impl FnMut(&mut Writer, &T),
    ) {
        match items {
            None => self.array_len(flexible, None),
            Some(items) => self.array(flexible, items, f),
        }
    }
    pub fn i32_array(&mut self, flexible: bool, items: &[i32]) {
        self.array(flexible, items, |w, v| w.i32(*v));
    }
    /// Writes a tagged-field section (tags must already be in ascending order).
    pub fn tagged_fields(&mut self, fields: &TaggedFields) {
        self.unsigned_varint(fields.0.len() as u32);
        for (tag, value) in &fields.0 {
            self.unsigned_varint(*tag);
            self.unsigned_varint(value.len() as u32);
            self.buf.put_slice(value);
        }
    }
    /// An empty tagged-field section.
    pub fn empty_tagged_fields(&mut self) {
        self.unsigned_varint(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0i32, 1, -1, 63, -64, 64, 300, i32::MAX, i32::MIN] {
            let mut w = Writer::new();
            w.varint(v);
            assert_eq!(Reader::new(w.into_bytes()).varint().unwrap(), v);
        }
        for v in [0i64, -1, 1 << 40, i64::MAX, i64::MIN] {
            let mut w = Writer::new();
            w.varlong(v);
            assert_eq!(Reader::new(w.into_bytes()).varlong().unwrap(), v);
        }
        for v in [0u32, 127, 128, 16383, 16384, u32::MAX] {
            let mut w = Writer::new();
            w.unsigned_varint(v);
            assert_eq!(Reader::new(w.into_bytes()).unsigned_varint().unwrap(), v);
        }
    }

    #[test]
    fn zigzag_matches_kafka() {
        // Kafka's ByteUtils: -1 encodes as 0x01, 1 as 0x02, 300 as 0xd8 0x04.
        let mut w = Writer::new();
        w.varint(-1);
        w.varint(1);
        w.varint(300);
        assert_eq!(w.as_slice(), &[0x01, 0x02, 0xd8, 0x04]);
    }

    #[test]
    fn strings_classic_and_compact() {
        for flexible in [false, true] {
            let mut w = Writer::new();
            w.string(flexible, "topic");
            w.nullable_string(flexible, None);
            let mut r = Reader::new(w.into_bytes());
            assert_eq!(r.string(flexible).unwrap(), "topic");
            assert_eq!(r.nullable_string(flexible).unwrap(), None);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn hostile_lengths_are_rejected_without_allocating() {
        // array claiming 2^31-1 elements in a 4-byte frame
        let mut r = Reader::new(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]));
        assert!(matches!(r.array_len(false), Err(CodecError::InvalidLength(_))));
        // compact string longer than the frame
        let mut r = Reader::new(Bytes::from_static(&[0x10, b'a']));
        assert!(r.string(true).is_err());
        // negative classic length other than -1
        let mut r = Reader::new(Bytes::from_static(&[0xff, 0xfe]));
        assert!(r.nullable_string(false).is_err());
        // endless varint
        let mut r = Reader::new(Bytes::from_static(&[0xff; 12]));
        assert_eq!(r.unsigned_varint(), Err(CodecError::VarintTooLong));
    }

    #[test]
    fn tagged_fields_round_trip_and_skip() {
        let tf = TaggedFields(vec![(0, Bytes::from_static(b"ab")), (5, Bytes::new())]);
        let mut w = Writer::new();
        w.tagged_fields(&tf);
        w.i8(7);
        let mut r = Reader::new(w.into_bytes());
        assert_eq!(r.tagged_fields().unwrap(), tf);
        assert_eq!(r.i8().unwrap(), 7);
    }
}
