//! Test helpers shared by the message files: loading requests captured from
//! real clients (hex fixtures under `testdata/`) and checking they decode and
//! re-encode byte for byte.

use crate::protocol::{Message, Reader, RequestHeader};
use bytes::Bytes;

/// Parses a hex fixture (`#` lines are comments) holding one size-prefixed
/// request frame; returns its header and body.
pub fn load_capture(text: &str, api_key: i16) -> (RequestHeader, Bytes) {
    let hex: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let raw: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let size = i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
    assert_eq!(size, raw.len() - 4, "frame size");
    let mut r = Reader::new(Bytes::from(raw[4..].to_vec()));
    let h = RequestHeader::decode(&mut r).unwrap();
    assert_eq!(h.api_key, api_key);
    (h, r.rest().clone())
}

/// Decodes a captured request as `M` and checks that encoding it again gives
/// the captured bytes.
pub fn check_capture<M: Message>(text: &str) -> (RequestHeader, M) {
    let (h, body) = load_capture(text, M::API_KEY.id());
    let m = M::from_bytes(body.clone(), h.api_version).unwrap();
    assert_eq!(m.to_bytes(h.api_version).unwrap(), body, "re-encode must be byte-exact");
    (h, m)
}

/// Every strict prefix of `m` encoded at `version` must fail to decode
/// (an error, never a panic or a half-read message).
pub fn assert_prefixes_fail<M: Message>(m: &M, version: i16) {
    let b = m.to_bytes(version).unwrap();
    for n in 0..b.len() {
        assert!(M::from_bytes(b.slice(..n), version).is_err(), "{:?} v{version}: a {n}-byte prefix decoded", M::API_KEY);
    }
}
