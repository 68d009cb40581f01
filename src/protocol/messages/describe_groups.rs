//! DescribeGroups (key 15), versions 0-5 (flexible from v5): state, protocol
//! and members (with their metadata and assignment) of groups. Maps to
//! `DescribeGroupsRequest.json` / `DescribeGroupsResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::DescribeGroups;
const MIN: i16 = 0;
const MAX: i16 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeGroupsRequest {
    pub groups: Vec<String>,
    /// v3+
    pub include_authorized_operations: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeGroupsResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub groups: Vec<DescribedGroup>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    pub error_code: ErrorCode,
    pub group_id: String,
    pub group_state: String,
    pub protocol_type: String,
    pub protocol_data: String,
    pub members: Vec<DescribedGroupMember>,
    /// v3+; default i32::MIN
    pub authorized_operations: i32,
}

impl Default for DescribedGroup {
    fn default() -> Self {
        DescribedGroup {
            error_code: 0,
            group_id: String::new(),
            group_state: String::new(),
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
            authorized_operations: i32::MIN,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribedGroupMember {
    pub member_id: String,
    /// v4+; nullable
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_metadata: Bytes,
    pub member_assignment: Bytes,
}

impl Message for DescribeGroupsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.groups, |w, g| w.string(flexible, g));
        if version >= 3 {
            w.bool(self.include_authorized_operations);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = DescribeGroupsRequest { groups: r.array(flexible, |r| r.string(flexible))?, ..Default::default() };
        if version >= 3 {
            m.include_authorized_operations = r.bool()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for DescribeGroupsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.groups, |w, g| {
            w.i16(g.error_code);
            w.string(flexible, &g.group_id);
            w.string(flexible, &g.group_state);
            w.string(flexible, &g.protocol_type);
            w.string(flexible, &g.protocol_data);
            w.array(flexible, &g.members, |w, m| {
                w.string(flexible, &m.member_id);
                if version >= 4 {
                    w.nullable_string(flexible, m.group_instance_id.as_deref());
                }
                w.string(flexible, &m.client_id);
                w.string(flexible, &m.client_host);
                w.bytes(flexible, &m.member_metadata);
                w.bytes(flexible, &m.member_assignment);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if version >= 3 {
                w.i32(g.authorized_operations);
            }
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
        let mut m = DescribeGroupsResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.groups = r.array(flexible, |r| {
            let mut g = DescribedGroup {
                error_code: r.i16()?,
                group_id: r.string(flexible)?,
                group_state: r.string(flexible)?,
                protocol_type: r.string(flexible)?,
                protocol_data: r.string(flexible)?,
                ..Default::default()
            };
            g.members = r.array(flexible, |r| {
                let mut mb = DescribedGroupMember { member_id: r.string(flexible)?, ..Default::default() };
                if version >= 4 {
                    mb.group_instance_id = r.nullable_string(flexible)?;
                }
                mb.client_id = r.string(flexible)?;
                mb.client_host = r.string(flexible)?;
                mb.member_metadata = r.bytes(flexible)?;
                mb.member_assignment = r.bytes(flexible)?;
                r.tagged_fields_if(flexible)?;
                Ok(mb)
            })?;
            if version >= 3 {
                g.authorized_operations = r.i32()?;
            }
            r.tagged_fields_if(flexible)?;
            Ok(g)
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

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = DescribeGroupsRequest { groups: vec!["g".into(), "h".into()], include_authorized_operations: v >= 3, ..Default::default() };
            round_trip(&req, v);
            let resp = DescribeGroupsResponse {
                throttle_time_ms: if v >= 1 { 1 } else { 0 },
                groups: vec![DescribedGroup {
                    error_code: 0,
                    group_id: "g".into(),
                    group_state: "Stable".into(),
                    protocol_type: "consumer".into(),
                    protocol_data: "range".into(),
                    members: vec![DescribedGroupMember {
                        member_id: "m".into(),
                        group_instance_id: if v >= 4 { Some("i".into()) } else { None },
                        client_id: "c".into(),
                        client_host: "/127.0.0.1".into(),
                        member_metadata: Bytes::from_static(b"md"),
                        member_assignment: Bytes::from_static(b"as"),
                    }],
                    authorized_operations: if v >= 3 { 8 } else { i32::MIN },
                }],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = DescribeGroupsRequest { groups: vec!["g".into()], ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 0, 0, 1, 0, 1, b'g']);
        assert_eq!(&round_trip(&req, 5)[..], &[2, 2, b'g', 0, 0]);
        let resp = DescribeGroupsResponse {
            groups: vec![DescribedGroup { error_code: 69, group_id: "g".into(), ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&resp, 0)[..],
            &[0, 0, 0, 1, 0, 69, 0, 1, b'g', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }
}
