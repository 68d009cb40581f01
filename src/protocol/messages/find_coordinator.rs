//! FindCoordinator (key 10), versions 0-3 (flexible from v3): which broker
//! coordinates a consumer group (key type 0) or a transactional id (key type 1).
//! Maps to `FindCoordinatorRequest.json` / `FindCoordinatorResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::FindCoordinator;
const MIN: i16 = 0;
const MAX: i16 = 3;

/// Key type of a consumer group.
pub const KEY_TYPE_GROUP: i8 = 0;
/// Key type of a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindCoordinatorRequest {
    pub key: String,
    /// v1+; default 0 (group)
    pub key_type: i8,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindCoordinatorResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// v1+; nullable
    pub error_message: Option<String>,
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub tagged_fields: TaggedFields,
}

impl Message for FindCoordinatorRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.key);
        if version >= 1 {
            w.i8(self.key_type);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = FindCoordinatorRequest { key: r.string(flexible)?, ..Default::default() };
        if version >= 1 {
            m.key_type = r.i8()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for FindCoordinatorResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 1 {
            w.nullable_string(flexible, self.error_message.as_deref());
        }
        w.i32(self.node_id);
        w.string(flexible, &self.host);
        w.i32(self.port);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = FindCoordinatorResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        if version >= 1 {
            m.error_message = r.nullable_string(flexible)?;
        }
        m.node_id = r.i32()?;
        m.host = r.string(flexible)?;
        m.port = r.i32()?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
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
            let req = FindCoordinatorRequest { key: "my-group".into(), key_type: if v >= 1 { 1 } else { 0 }, ..Default::default() };
            round_trip(&req, v);
            let resp = FindCoordinatorResponse {
                throttle_time_ms: if v >= 1 { 5 } else { 0 },
                error_code: 15,
                error_message: if v >= 1 { Some("nope".into()) } else { None },
                node_id: 2,
                host: "h".into(),
                port: 9092,
                ..Default::default()
            };
            round_trip(&resp, v);
        }
        assert!(FindCoordinatorRequest::default().to_bytes(4).is_err());
    }

    #[test]
    fn hand_checked_bytes() {
        let req = FindCoordinatorRequest { key: "g".into(), ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b'g']);
        assert_eq!(&round_trip(&req, 3)[..], &[2, b'g', 0, 0]);
        let resp = FindCoordinatorResponse { node_id: 1, host: "h".into(), port: 9, ..Default::default() };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 0, 0, 1, 0, 1, b'h', 0, 0, 0, 9]);
        assert_eq!(&round_trip(&resp, 3)[..], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, b'h', 0, 0, 0, 9, 0]);
    }
}
