//! LeaveGroup (key 13), versions 0-4 (flexible from v4): members leave a group
//! (one member id in v0-2, a batch of members with instance ids from v3).
//! Maps to `LeaveGroupRequest.json` / `LeaveGroupResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::LeaveGroup;
const MIN: i16 = 0;
const MAX: i16 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaveGroupRequest {
    pub group_id: String,
    /// v0-2
    pub member_id: String,
    /// v3+
    pub members: Vec<MemberIdentity>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberIdentity {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaveGroupResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// v3+
    pub members: Vec<MemberResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberResponse {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub error_code: ErrorCode,
}

impl Message for LeaveGroupRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.group_id);
        if version <= 2 {
            w.string(flexible, &self.member_id);
        } else {
            w.array(flexible, &self.members, |w, m| {
                w.string(flexible, &m.member_id);
                w.nullable_string(flexible, m.group_instance_id.as_deref());
                if flexible {
                    w.empty_tagged_fields();
                }
            });
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = LeaveGroupRequest { group_id: r.string(flexible)?, ..Default::default() };
        if version <= 2 {
            m.member_id = r.string(flexible)?;
        } else {
            m.members = r.array(flexible, |r| {
                let mi = MemberIdentity { member_id: r.string(flexible)?, group_instance_id: r.nullable_string(flexible)? };
                r.tagged_fields_if(flexible)?;
                Ok(mi)
            })?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for LeaveGroupResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 3 {
            w.array(flexible, &self.members, |w, m| {
                w.string(flexible, &m.member_id);
                w.nullable_string(flexible, m.group_instance_id.as_deref());
                w.i16(m.error_code);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = LeaveGroupResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        if version >= 3 {
            m.members = r.array(flexible, |r| {
                let mr = MemberResponse {
                    member_id: r.string(flexible)?,
                    group_instance_id: r.nullable_string(flexible)?,
                    error_code: r.i16()?,
                };
                r.tagged_fields_if(flexible)?;
                Ok(mr)
            })?;
        }
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
            let mut req = LeaveGroupRequest { group_id: "g".into(), ..Default::default() };
            let mut resp = LeaveGroupResponse { throttle_time_ms: if v >= 1 { 4 } else { 0 }, error_code: 25, ..Default::default() };
            if v <= 2 {
                req.member_id = "m".into();
            } else {
                req.members = vec![
                    MemberIdentity { member_id: "m".into(), group_instance_id: None },
                    MemberIdentity { member_id: String::new(), group_instance_id: Some("i".into()) },
                ];
                resp.members = vec![MemberResponse { member_id: "m".into(), group_instance_id: Some("i".into()), error_code: 82 }];
            }
            round_trip(&req, v);
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = LeaveGroupRequest { group_id: "g".into(), member_id: "m".into(), ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b'g', 0, 1, b'm']);
        let req = LeaveGroupRequest {
            group_id: "g".into(),
            members: vec![MemberIdentity { member_id: "m".into(), group_instance_id: None }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&req, 3)[..], &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm', 0xff, 0xff]);
        assert_eq!(&round_trip(&req, 4)[..], &[2, b'g', 2, 2, b'm', 0, 0, 0]);
    }
}
