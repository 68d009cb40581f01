//! SaslHandshake (key 17), versions 0-1: the client names its SASL mechanism;
//! v0 is followed by raw length-prefixed tokens (pre-KIP-43), v1 by
//! SaslAuthenticate requests. Maps to `SaslHandshakeRequest.json` /
//! `SaslHandshakeResponse.json` (never flexible).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, Writer};

const KEY: ApiKey = ApiKey::SaslHandshake;
const MIN: i16 = 0;
const MAX: i16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaslHandshakeRequest {
    pub mechanism: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaslHandshakeResponse {
    pub error_code: ErrorCode,
    /// The mechanisms enabled in the server.
    pub mechanisms: Vec<String>,
}

impl Message for SaslHandshakeRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.string(false, &self.mechanism);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        Ok(SaslHandshakeRequest { mechanism: r.string(false)? })
    }
}

impl Message for SaslHandshakeResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.i16(self.error_code);
        w.array(false, &self.mechanisms, |w, m| w.string(false, m));
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        Ok(SaslHandshakeResponse { error_code: r.i16()?, mechanisms: r.array(false, |r| r.string(false))? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = SaslHandshakeRequest { mechanism: "PLAIN".into() };
            assert_eq!(&round_trip(&req, v)[..], &[0, 5, b'P', b'L', b'A', b'I', b'N']);
            let resp = SaslHandshakeResponse { error_code: 33, mechanisms: vec!["A".into()] };
            assert_eq!(&round_trip(&resp, v)[..], &[0, 33, 0, 0, 0, 1, 0, 1, b'A']);
        }
        assert!(SaslHandshakeRequest::default().to_bytes(2).is_err());
    }
}
