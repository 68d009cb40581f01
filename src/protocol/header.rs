//! Request and response headers (`RequestHeader.json` v0-v2,
//! `ResponseHeader.json` v0-v1) and the size-prefixed framing around them.

use super::api_key::ApiKey;
use super::primitives::{CodecError, Reader, Result, TaggedFields, Writer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    /// Present from header v1; a classic (int16) nullable string even in v2.
    pub client_id: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl RequestHeader {
    /// Decodes a header. The header version follows from the key and version,
    /// so an API we do not know is read as header v1 (key, version,
    /// correlation id, client id), which is all any broker needs to answer it.
    pub fn decode(r: &mut Reader) -> Result<RequestHeader> {
        let api_key = r.i16()?;
        let api_version = r.i16()?;
        let correlation_id = r.i32()?;
        let header_version = match ApiKey::from_i16(api_key) {
            Some(k) => k.request_header_version(api_version),
            None => 1,
        };
        let mut h = RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id: None,
            tagged_fields: TaggedFields::default(),
        };
        if header_version >= 1 {
            h.client_id = r.nullable_string(false)?;
        }
        if header_version >= 2 {
            h.tagged_fields = r.tagged_fields()?;
        }
        Ok(h)
    }

    pub fn encode(&self, w: &mut Writer) -> Result<()> {
        let key = ApiKey::from_i16(self.api_key).ok_or_else(|| {
            CodecError::Invalid(format!("cannot encode a header for unknown api key {}", self.api_key))
        })?;
        let header_version = key.request_header_version(self.api_version);
        w.i16(self.api_key);
        w.i16(self.api_version);
        w.i32(self.correlation_id);
        if header_version >= 1 {
            w.nullable_string(false, self.client_id.as_deref());
        }
        if header_version >= 2 {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    pub correlation_id: i32,
    pub tagged_fields: TaggedFields,
}

impl ResponseHeader {
    pub fn new(correlation_id: i32) -> Self {
        ResponseHeader { correlation_id, tagged_fields: TaggedFields::default() }
    }

    pub fn encode(&self, w: &mut Writer, header_version: i16) {
        w.i32(self.correlation_id);
        if header_version >= 1 {
            w.tagged_fields(&self.tagged_fields);
        }
    }

    pub fn decode(r: &mut Reader, header_version: i16) -> Result<ResponseHeader> {
        let correlation_id = r.i32()?;
        let tagged_fields =
            if header_version >= 1 { r.tagged_fields()? } else { TaggedFields::default() };
        Ok(ResponseHeader { correlation_id, tagged_fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn header_versions_round_trip() {
        for (key, version) in [(18i16, 0i16), (18, 3), (3, 8), (3, 9), (7, 0)] {
            let h = RequestHeader {
                api_key: key,
                api_version: version,
                correlation_id: 42,
                client_id: if (key, version) == (7, 0) { None } else { Some("rdkafka".into()) },
                tagged_fields: TaggedFields::default(),
            };
            let mut w = Writer::new();
            h.encode(&mut w).unwrap();
            let got = RequestHeader::decode(&mut Reader::new(w.into_bytes())).unwrap();
            assert_eq!(got, h);
        }
    }

    #[test]
    fn unknown_api_key_header_reads_as_v1() {
        let mut w = Writer::new();
        w.i16(999);
        w.i16(4);
        w.i32(7);
        w.nullable_string(false, Some("x"));
        let h = RequestHeader::decode(&mut Reader::new(w.into_bytes())).unwrap();
        assert_eq!((h.api_key, h.api_version, h.correlation_id), (999, 4, 7));
        assert_eq!(h.client_id.as_deref(), Some("x"));
        assert!(RequestHeader::decode(&mut Reader::new(Bytes::from_static(&[0, 1]))).is_err());
    }
}
