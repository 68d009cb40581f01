//! ListGroups (key 16), versions 0-4 (flexible from v3): the groups this
//! broker coordinates, optionally filtered by state (v4). Maps to
//! `ListGroupsRequest.json` / `ListGroupsResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::ListGroups;
const MIN: i16 = 0;
const MAX: i16 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListGroupsRequest {
    /// v4+
    pub states_filter: Vec<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListGroupsResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub groups: Vec<ListedGroup>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    /// v4+
    pub group_state: String,
}

impl Message for ListGroupsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 4 {
            w.array(flexible, &self.states_filter, |w, s| w.string(flexible, s));
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = ListGroupsRequest::default();
        if version >= 4 {
            m.states_filter = r.array(flexible, |r| r.string(flexible))?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for ListGroupsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.array(flexible, &self.groups, |w, g| {
            w.string(flexible, &g.group_id);
            w.string(flexible, &g.protocol_type);
            if version >= 4 {
                w.string(flexible, &g.group_state);
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
        let mut m = ListGroupsResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        m.groups = r.array(flexible, |r| {
            let mut g = ListedGroup { group_id: r.string(flexible)?, protocol_type: r.string(flexible)?, ..Default::default() };
            if version >= 4 {
                g.group_state = r.string(flexible)?;
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
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = ListGroupsRequest { states_filter: if v >= 4 { vec!["Stable".into()] } else { vec![] }, ..Default::default() };
            round_trip(&req, v);
            let resp = ListGroupsResponse {
                throttle_time_ms: if v >= 1 { 9 } else { 0 },
                error_code: 0,
                groups: vec![ListedGroup {
                    group_id: "g".into(),
                    protocol_type: "consumer".into(),
                    group_state: if v >= 4 { "Empty".into() } else { String::new() },
                }],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        assert_eq!(&round_trip(&ListGroupsRequest::default(), 0)[..], &[] as &[u8]);
        assert_eq!(&round_trip(&ListGroupsRequest::default(), 4)[..], &[1, 0]);
        let resp = ListGroupsResponse {
            groups: vec![ListedGroup { group_id: "g".into(), protocol_type: "c".into(), group_state: String::new() }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 0, 0, 1, 0, 1, b'g', 0, 1, b'c']);
    }
}
