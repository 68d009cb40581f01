//! The Kafka wire protocol: typed primitives, headers, API keys, error codes,
//! one file per request/response pair under `messages/`, and the record-batch
//! format under `records`. Maps to Kafka's `org.apache.kafka.common.protocol`,
//! `common.message` (generated from the JSON schemas) and `common.record`.

pub mod api_key;
pub mod error;
pub mod header;
pub mod messages;
pub mod primitives;
pub mod records;
pub mod legacy_records;
pub mod compression;

pub use api_key::ApiKey;
pub use error::ErrorCode;
pub use header::{RequestHeader, ResponseHeader};
pub use primitives::{CodecError, Reader, Result, TaggedFields, Writer};

/// A versioned protocol message (a request or a response body). `version` is
/// the API version; whether it is flexible follows from the API key.
pub trait Message: Sized {
    /// The API this message belongs to.
    const API_KEY: ApiKey;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()>;
    fn decode(r: &mut Reader, version: i16) -> Result<Self>;

    /// Convenience: encode to a fresh buffer.
    fn to_bytes(&self, version: i16) -> Result<bytes::Bytes> {
        let mut w = Writer::new();
        self.encode(&mut w, version)?;
        Ok(w.into_bytes())
    }

    /// Convenience: decode a whole buffer, failing on trailing garbage.
    fn from_bytes(buf: bytes::Bytes, version: i16) -> Result<Self> {
        let mut r = Reader::new(buf);
        let m = Self::decode(&mut r, version)?;
        if !r.is_empty() {
            return Err(CodecError::Invalid(format!(
                "{} trailing bytes after {:?} v{}",
                r.remaining(),
                Self::API_KEY,
                version
            )));
        }
        Ok(m)
    }
}

/// Fails with `UnsupportedVersion` unless `version` is within Kafka 2.8's range
/// `[lo, hi]` for the message's API. Messages call this first in encode/decode.
pub fn check_version(key: ApiKey, version: i16, lo: i16, hi: i16) -> Result<()> {
    if version < lo || version > hi {
        Err(CodecError::UnsupportedVersion { api_key: key.id(), version })
    } else {
        Ok(())
    }
}

/// Encodes a whole response frame: size prefix, header, body.
pub fn encode_response_frame<M: Message>(
    correlation_id: i32,
    version: i16,
    body: &M,
) -> Result<bytes::Bytes> {
    let mut w = Writer::new();
    w.i32(0); // size, patched below
    ResponseHeader::new(correlation_id).encode(&mut w, M::API_KEY.response_header_version(version));
    body.encode(&mut w, version)?;
    let mut buf = w.into_inner();
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

/// Encodes a whole request frame: size prefix, header, body.
pub fn encode_request_frame<M: Message>(
    correlation_id: i32,
    version: i16,
    client_id: Option<&str>,
    body: &M,
) -> Result<bytes::Bytes> {
    let mut w = Writer::new();
    w.i32(0);
    RequestHeader {
        api_key: M::API_KEY.id(),
        api_version: version,
        correlation_id,
        client_id: client_id.map(str::to_string),
        tagged_fields: TaggedFields::default(),
    }
    .encode(&mut w)?;
    body.encode(&mut w, version)?;
    let mut buf = w.into_inner();
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}
