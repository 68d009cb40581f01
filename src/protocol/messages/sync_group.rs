//! SyncGroup (key 14), versions 0-5 (flexible from v4): after a join, the
//! leader sends the assignment of every member and each member receives its
//! own. Maps to `SyncGroupRequest.json` / `SyncGroupResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::SyncGroup;
const MIN: i16 = 0;
const MAX: i16 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// v3+; nullable
    pub group_instance_id: Option<String>,
    /// v5+; nullable
    pub protocol_type: Option<String>,
    /// v5+; nullable
    pub protocol_name: Option<String>,
    pub assignments: Vec<SyncGroupRequestAssignment>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroupRequestAssignment {
    pub member_id: String,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroupResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// v5+; nullable
    pub protocol_type: Option<String>,
    /// v5+; nullable
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
    pub tagged_fields: TaggedFields,
}

impl Message for SyncGroupRequest {
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
        if version >= 5 {
            w.nullable_string(flexible, self.protocol_type.as_deref());
            w.nullable_string(flexible, self.protocol_name.as_deref());
        }
        w.array(flexible, &self.assignments, |w, a| {
            w.string(flexible, &a.member_id);
            w.bytes(flexible, &a.assignment);
            if flexible {
                w.empty_tagged_fields();
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = SyncGroupRequest {
            group_id: r.string(flexible)?,
            generation_id: r.i32()?,
            member_id: r.string(flexible)?,
            ..Default::default()
        };
        if version >= 3 {
            m.group_instance_id = r.nullable_string(flexible)?;
        }
        if version >= 5 {
            m.protocol_type = r.nullable_string(flexible)?;
            m.protocol_name = r.nullable_string(flexible)?;
        }
        m.assignments = r.array(flexible, |r| {
            let a = SyncGroupRequestAssignment { member_id: r.string(flexible)?, assignment: r.bytes(flexible)? };
            r.tagged_fields_if(flexible)?;
            Ok(a)
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for SyncGroupResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 5 {
            w.nullable_string(flexible, self.protocol_type.as_deref());
            w.nullable_string(flexible, self.protocol_name.as_deref());
        }
        w.bytes(flexible, &self.assignment);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = SyncGroupResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        if version >= 5 {
            m.protocol_type = r.nullable_string(flexible)?;
            m.protocol_name = r.nullable_string(flexible)?;
        }
        m.assignment = r.bytes(flexible)?;
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
            let req = SyncGroupRequest {
                group_id: "g".into(),
                generation_id: 4,
                member_id: "m1".into(),
                group_instance_id: if v >= 3 { Some("i".into()) } else { None },
                protocol_type: if v >= 5 { Some("consumer".into()) } else { None },
                protocol_name: if v >= 5 { Some("range".into()) } else { None },
                assignments: vec![
                    SyncGroupRequestAssignment { member_id: "m1".into(), assignment: Bytes::from_static(b"a1") },
                    SyncGroupRequestAssignment { member_id: "m2".into(), assignment: Bytes::new() },
                ],
                ..Default::default()
            };
            round_trip(&req, v);
            let resp = SyncGroupResponse {
                throttle_time_ms: if v >= 1 { 2 } else { 0 },
                error_code: 0,
                protocol_type: if v >= 5 { Some("consumer".into()) } else { None },
                protocol_name: if v >= 5 { Some("range".into()) } else { None },
                assignment: Bytes::from_static(b"xyz"),
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = SyncGroupRequest { group_id: "g".into(), generation_id: 1, member_id: "m".into(), ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm', 0, 0, 0, 0]);
        assert_eq!(&round_trip(&req, 5)[..], &[2, b'g', 0, 0, 0, 1, 2, b'm', 0, 0, 0, 1, 0]);
        let resp = SyncGroupResponse { assignment: Bytes::from_static(b"a"), ..Default::default() };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 0, 0, 1, b'a']);
        assert_eq!(&round_trip(&resp, 4)[..], &[0, 0, 0, 0, 0, 0, 2, b'a', 0]);
    }
}
