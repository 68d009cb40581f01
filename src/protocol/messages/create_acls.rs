//! CreateAcls (key 30), versions 0-2 (flexible from v2; the pattern type
//! from v1): adds ACLs. Maps to `CreateAclsRequest.json` /
//! `CreateAclsResponse.json`. Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::CreateAcls;
const MIN: i16 = 0;
const MAX: i16 = 2;
const LITERAL: i8 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateAclsRequest {
    pub creations: Vec<AclCreation>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclCreation {
    pub resource_type: i8,
    pub resource_name: String,
    pub resource_pattern_type: i8,
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission_type: i8,
}

impl Default for AclCreation {
    fn default() -> Self {
        AclCreation {
            resource_type: 0,
            resource_name: String::new(),
            resource_pattern_type: LITERAL,
            principal: String::new(),
            host: String::new(),
            operation: 0,
            permission_type: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateAclsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<AclCreationResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclCreationResult {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
}

impl Message for CreateAclsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.creations, |w, c| {
            w.i8(c.resource_type);
            w.string(flexible, &c.resource_name);
            if version >= 1 {
                w.i8(c.resource_pattern_type);
            }
            w.string(flexible, &c.principal);
            w.string(flexible, &c.host);
            w.i8(c.operation);
            w.i8(c.permission_type);
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
        let creations = r.array(flexible, |r| {
            let resource_type = r.i8()?;
            let resource_name = r.string(flexible)?;
            let resource_pattern_type = if version >= 1 { r.i8()? } else { LITERAL };
            let c = AclCreation {
                resource_type,
                resource_name,
                resource_pattern_type,
                principal: r.string(flexible)?,
                host: r.string(flexible)?,
                operation: r.i8()?,
                permission_type: r.i8()?,
            };
            r.tagged_fields_if(flexible)?;
            Ok(c)
        })?;
        Ok(CreateAclsRequest { creations, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

impl Message for CreateAclsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, res| {
            w.i16(res.error_code);
            w.nullable_string(flexible, res.error_message.as_deref());
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
        let throttle_time_ms = r.i32()?;
        let results = r.array(flexible, |r| {
            let res = AclCreationResult { error_code: r.i16()?, error_message: r.nullable_string(flexible)? };
            r.tagged_fields_if(flexible)?;
            Ok(res)
        })?;
        Ok(CreateAclsResponse { throttle_time_ms, results, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::test_util::assert_prefixes_fail;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = CreateAclsRequest {
                creations: vec![AclCreation {
                    resource_type: 2,
                    resource_name: "t".into(),
                    resource_pattern_type: if v >= 1 { 4 } else { LITERAL },
                    principal: "User:a".into(),
                    host: "*".into(),
                    operation: 4,
                    permission_type: 3,
                }],
                ..Default::default()
            };
            round_trip(&req, v);
            assert_prefixes_fail(&req, v);
            let resp = CreateAclsResponse {
                throttle_time_ms: 1,
                results: vec![
                    AclCreationResult::default(),
                    AclCreationResult { error_code: 42, error_message: Some("bad".into()) },
                ],
                ..Default::default()
            };
            round_trip(&resp, v);
            assert_prefixes_fail(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let resp = CreateAclsResponse { results: vec![AclCreationResult::default()], ..Default::default() };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff]);
        assert_eq!(&round_trip(&resp, 2)[..], &[0, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
    }
}
