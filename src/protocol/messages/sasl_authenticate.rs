//! SaslAuthenticate (key 36), versions 0-2 (flexible from v2): one SASL token
//! of the exchange wrapped in a Kafka request (KIP-152), after SaslHandshake
//! v1. Maps to `SaslAuthenticateRequest.json` / `SaslAuthenticateResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::SaslAuthenticate;
const MIN: i16 = 0;
const MAX: i16 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaslAuthenticateRequest {
    pub auth_bytes: Bytes,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaslAuthenticateResponse {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub auth_bytes: Bytes,
    /// v1+: 0 unless the server expires sessions (KIP-368).
    pub session_lifetime_ms: i64,
    pub tagged_fields: TaggedFields,
}

impl Message for SaslAuthenticateRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.bytes(flexible, &self.auth_bytes);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let auth_bytes = r.bytes(flexible)?;
        Ok(SaslAuthenticateRequest { auth_bytes, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

impl Message for SaslAuthenticateResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i16(self.error_code);
        w.nullable_string(flexible, self.error_message.as_deref());
        w.bytes(flexible, &self.auth_bytes);
        if version >= 1 {
            w.i64(self.session_lifetime_ms);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = SaslAuthenticateResponse {
            error_code: r.i16()?,
            error_message: r.nullable_string(flexible)?,
            auth_bytes: r.bytes(flexible)?,
            ..Default::default()
        };
        if version >= 1 {
            m.session_lifetime_ms = r.i64()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&SaslAuthenticateRequest { auth_bytes: Bytes::from_static(b"n,,n=u,r=x"), ..Default::default() }, v);
            let mut resp = SaslAuthenticateResponse {
                error_code: 58,
                error_message: Some("Authentication failed".into()),
                auth_bytes: Bytes::from_static(b"v=abc"),
                ..Default::default()
            };
            if v >= 1 {
                resp.session_lifetime_ms = 7;
            }
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = SaslAuthenticateRequest { auth_bytes: Bytes::from_static(b"ab"), ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 0, 0, 2, b'a', b'b']);
        assert_eq!(&round_trip(&req, 2)[..], &[3, b'a', b'b', 0]);
        let resp = SaslAuthenticateResponse::default();
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0xff, 0xff, 0, 0, 0, 0]);
        assert_eq!(&round_trip(&resp, 1)[..], &[0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&round_trip(&resp, 2)[..], &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
