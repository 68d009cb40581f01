//! Heartbeat (key 12), versions 0-4 (flexible from v4): a group member says it
//! is alive; the answer tells it whether a rebalance is under way. Maps to
//! `HeartbeatRequest.json` / `HeartbeatResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::Heartbeat;
const MIN: i16 = 0;
const MAX: i16 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// v3+; nullable, default null
    pub group_instance_id: Option<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

impl Message for HeartbeatRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.group_id);
        w.i32(self.generation_id);
        w.string(flexible, &self.member_id);
        if version >= 3 {
            w.nullable_string(flexible, self.group_instance_id.as_deref());
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = HeartbeatRequest {
            group_id: r.string(flexible)?,
            generation_id: r.i32()?,
            member_id: r.string(flexible)?,
            ..Default::default()
        };
        if version >= 3 {
            m.group_instance_id = r.nullable_string(flexible)?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for HeartbeatResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = HeartbeatResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
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
            let req = HeartbeatRequest {
                group_id: "g".into(),
                generation_id: 7,
                member_id: "m-1".into(),
                group_instance_id: if v >= 3 { Some("i".into()) } else { None },
                ..Default::default()
            };
            round_trip(&req, v);
            let resp = HeartbeatResponse { throttle_time_ms: if v >= 1 { 3 } else { 0 }, error_code: 27, ..Default::default() };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = HeartbeatRequest { group_id: "g".into(), generation_id: 1, member_id: "m".into(), ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm']);
        assert_eq!(&round_trip(&req, 4)[..], &[2, b'g', 0, 0, 0, 1, 2, b'm', 0, 0]);
        let resp = HeartbeatResponse { error_code: 27, ..Default::default() };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 27]);
        assert_eq!(&round_trip(&resp, 4)[..], &[0, 0, 0, 0, 0, 27, 0]);
    }
}
