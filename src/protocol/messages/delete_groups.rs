//! DeleteGroups (key 42), versions 0-2 (flexible from v2): removes empty
//! groups and their committed offsets. Maps to `DeleteGroupsRequest.json` /
//! `DeleteGroupsResponse.json`. Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DeleteGroups;
const MIN: i16 = 0;
const MAX: i16 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteGroupsRequest {
    pub groups_names: Vec<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteGroupsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<DeletableGroupResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletableGroupResult {
    pub group_id: String,
    pub error_code: ErrorCode,
}

impl Message for DeleteGroupsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.groups_names, |w, g| w.string(flexible, g));
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = DeleteGroupsRequest { groups_names: r.array(flexible, |r| r.string(flexible))?, ..Default::default() };
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for DeleteGroupsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, g| {
            w.string(flexible, &g.group_id);
            w.i16(g.error_code);
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
        let mut m = DeleteGroupsResponse { throttle_time_ms: r.i32()?, ..Default::default() };
        m.results = r.array(flexible, |r| {
            let g = DeletableGroupResult { group_id: r.string(flexible)?, error_code: r.i16()? };
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
            round_trip(&DeleteGroupsRequest { groups_names: vec!["a".into(), "b".into()], ..Default::default() }, v);
            let resp = DeleteGroupsResponse {
                throttle_time_ms: 1,
                results: vec![DeletableGroupResult { group_id: "a".into(), error_code: 68 }],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = DeleteGroupsRequest { groups_names: vec!["a".into()], ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 0, 0, 1, 0, 1, b'a']);
        assert_eq!(&round_trip(&req, 2)[..], &[2, 2, b'a', 0]);
        let resp = DeleteGroupsResponse { results: vec![DeletableGroupResult { group_id: "a".into(), error_code: 69 }], ..Default::default() };
        assert_eq!(&round_trip(&resp, 2)[..], &[0, 0, 0, 0, 2, 2, b'a', 0, 69, 0, 0]);
    }
}
