//! JoinGroup (key 11), versions 0-7 (flexible from v6): a member asks to join
//! a group with the protocols it supports; the coordinator answers once the
//! rebalance completes, with the member list for the leader only. Maps to
//! `JoinGroupRequest.json` / `JoinGroupResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::JoinGroup;
const MIN: i16 = 0;
const MAX: i16 = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    pub group_id: String,
    pub session_timeout_ms: i32,
    /// v1+; default -1 (v0 clients: the session timeout is used)
    pub rebalance_timeout_ms: i32,
    pub member_id: String,
    /// v5+; nullable, default null
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    pub protocols: Vec<JoinGroupRequestProtocol>,
    pub tagged_fields: TaggedFields,
}

impl Default for JoinGroupRequest {
    fn default() -> Self {
        JoinGroupRequest {
            group_id: String::new(),
            session_timeout_ms: 0,
            rebalance_timeout_ms: -1,
            member_id: String::new(),
            group_instance_id: None,
            protocol_type: String::new(),
            protocols: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinGroupRequestProtocol {
    pub name: String,
    pub metadata: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// v2+
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// default -1
    pub generation_id: i32,
    /// v7+; nullable, default null
    pub protocol_type: Option<String>,
    /// Nullable from v7 (must be set before).
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub members: Vec<JoinGroupResponseMember>,
    pub tagged_fields: TaggedFields,
}

impl Default for JoinGroupResponse {
    fn default() -> Self {
        JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: 0,
            generation_id: -1,
            protocol_type: None,
            protocol_name: Some(String::new()),
            leader: String::new(),
            member_id: String::new(),
            members: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinGroupResponseMember {
    pub member_id: String,
    /// v5+; nullable
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

impl Message for JoinGroupRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.group_id);
        w.i32(self.session_timeout_ms);
        if version >= 1 {
            w.i32(self.rebalance_timeout_ms);
        }
        w.string(flexible, &self.member_id);
        if version >= 5 {
            w.nullable_string(flexible, self.group_instance_id.as_deref());
        }
        w.string(flexible, &self.protocol_type);
        w.array(flexible, &self.protocols, |w, p| {
            w.string(flexible, &p.name);
            w.bytes(flexible, &p.metadata);
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
        let mut m = JoinGroupRequest { group_id: r.string(flexible)?, session_timeout_ms: r.i32()?, ..Default::default() };
        if version >= 1 {
            m.rebalance_timeout_ms = r.i32()?;
        }
        m.member_id = r.string(flexible)?;
        if version >= 5 {
            m.group_instance_id = r.nullable_string(flexible)?;
        }
        m.protocol_type = r.string(flexible)?;
        m.protocols = r.array(flexible, |r| {
            let p = JoinGroupRequestProtocol { name: r.string(flexible)?, metadata: r.bytes(flexible)? };
            r.tagged_fields_if(flexible)?;
            Ok(p)
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for JoinGroupResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.i32(self.generation_id);
        if version >= 7 {
            w.nullable_string(flexible, self.protocol_type.as_deref());
            w.nullable_string(flexible, self.protocol_name.as_deref());
        } else {
            match &self.protocol_name {
                Some(p) => w.string(flexible, p),
                None => return Err(CodecError::UnexpectedNull("JoinGroupResponse.protocol_name (before v7)")),
            }
        }
        w.string(flexible, &self.leader);
        w.string(flexible, &self.member_id);
        w.array(flexible, &self.members, |w, mb| {
            w.string(flexible, &mb.member_id);
            if version >= 5 {
                w.nullable_string(flexible, mb.group_instance_id.as_deref());
            }
            w.bytes(flexible, &mb.metadata);
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
        let mut m = JoinGroupResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        m.generation_id = r.i32()?;
        if version >= 7 {
            m.protocol_type = r.nullable_string(flexible)?;
            m.protocol_name = r.nullable_string(flexible)?;
        } else {
            m.protocol_name = Some(r.string(flexible)?);
        }
        m.leader = r.string(flexible)?;
        m.member_id = r.string(flexible)?;
        m.members = r.array(flexible, |r| {
            let mut mb = JoinGroupResponseMember { member_id: r.string(flexible)?, ..Default::default() };
            if version >= 5 {
                mb.group_instance_id = r.nullable_string(flexible)?;
            }
            mb.metadata = r.bytes(flexible)?;
            r.tagged_fields_if(flexible)?;
            Ok(mb)
        })?;
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

    fn sample_request(v: i16) -> JoinGroupRequest {
        JoinGroupRequest {
            group_id: "g".into(),
            session_timeout_ms: 10000,
            rebalance_timeout_ms: if v >= 1 { 300000 } else { -1 },
            member_id: "m".into(),
            group_instance_id: if v >= 5 { Some("inst".into()) } else { None },
            protocol_type: "consumer".into(),
            protocols: vec![
                JoinGroupRequestProtocol { name: "range".into(), metadata: Bytes::from_static(b"\x00\x01") },
                JoinGroupRequestProtocol { name: "roundrobin".into(), metadata: Bytes::new() },
            ],
            ..Default::default()
        }
    }

    fn sample_response(v: i16) -> JoinGroupResponse {
        JoinGroupResponse {
            throttle_time_ms: if v >= 2 { 1 } else { 0 },
            error_code: 0,
            generation_id: 3,
            protocol_type: if v >= 7 { Some("consumer".into()) } else { None },
            protocol_name: Some("range".into()),
            leader: "m1".into(),
            member_id: "m2".into(),
            members: vec![JoinGroupResponseMember {
                member_id: "m1".into(),
                group_instance_id: if v >= 5 { Some("i1".into()) } else { None },
                metadata: Bytes::from_static(b"meta"),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&JoinGroupResponse::default(), v);
        }
        let null_name = JoinGroupResponse { protocol_name: None, ..Default::default() };
        assert!(null_name.to_bytes(6).is_err());
        round_trip(&null_name, 7);
    }

    #[test]
    fn hand_checked_bytes() {
        let req = JoinGroupRequest {
            group_id: "g".into(),
            session_timeout_ms: 6000,
            member_id: String::new(),
            protocol_type: "c".into(),
            protocols: vec![JoinGroupRequestProtocol { name: "r".into(), metadata: Bytes::from_static(b"x") }],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&req, 0)[..],
            &[0, 1, b'g', 0, 0, 0x17, 0x70, 0, 0, 0, 1, b'c', 0, 0, 0, 1, 0, 1, b'r', 0, 0, 0, 1, b'x']
        );
        assert_eq!(
            &round_trip(&req, 6)[..],
            &[2, b'g', 0, 0, 0x17, 0x70, 0xff, 0xff, 0xff, 0xff, 1, 0, 2, b'c', 2, 2, b'r', 2, b'x', 0, 0]
        );
        let resp = JoinGroupResponse { error_code: 79, member_id: "m".into(), ..Default::default() };
        assert_eq!(&round_trip(&resp, 4)[..], &[0, 0, 0, 0, 0, 79, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, b'm', 0, 0, 0, 0]);
    }
}
