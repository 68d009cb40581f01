//! DescribeAcls (key 29), versions 0-2 (flexible from v2; the pattern type
//! from v1): the ACLs matching a filter. Maps to `DescribeAclsRequest.json` /
//! `DescribeAclsResponse.json`. Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeAcls;
const MIN: i16 = 0;
const MAX: i16 = 2;
/// `PatternType.LITERAL`, the implied pattern type of v0.
pub const LITERAL: i8 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeAclsRequest {
    pub resource_type_filter: i8,
    pub resource_name_filter: Option<String>,
    pub pattern_type_filter: i8,
    pub principal_filter: Option<String>,
    pub host_filter: Option<String>,
    pub operation: i8,
    pub permission_type: i8,
    pub tagged_fields: TaggedFields,
}

impl Default for DescribeAclsRequest {
    fn default() -> Self {
        DescribeAclsRequest {
            resource_type_filter: 0,
            resource_name_filter: None,
            pattern_type_filter: LITERAL,
            principal_filter: None,
            host_filter: None,
            operation: 0,
            permission_type: 0,
            tagged_fields: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeAclsResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub resources: Vec<DescribeAclsResource>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeAclsResource {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub acls: Vec<AclDescription>,
}

impl Default for DescribeAclsResource {
    fn default() -> Self {
        DescribeAclsResource { resource_type: 0, resource_name: String::new(), pattern_type: LITERAL, acls: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclDescription {
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission_type: i8,
}

impl Message for DescribeAclsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i8(self.resource_type_filter);
        w.nullable_string(flexible, self.resource_name_filter.as_deref());
        if version >= 1 {
            w.i8(self.pattern_type_filter);
        }
        w.nullable_string(flexible, self.principal_filter.as_deref());
        w.nullable_string(flexible, self.host_filter.as_deref());
        w.i8(self.operation);
        w.i8(self.permission_type);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let resource_type_filter = r.i8()?;
        let resource_name_filter = r.nullable_string(flexible)?;
        let pattern_type_filter = if version >= 1 { r.i8()? } else { LITERAL };
        let mut m = DescribeAclsRequest {
            resource_type_filter,
            resource_name_filter,
            pattern_type_filter,
            principal_filter: r.nullable_string(flexible)?,
            host_filter: r.nullable_string(flexible)?,
            operation: r.i8()?,
            permission_type: r.i8()?,
            tagged_fields: Default::default(),
        };
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for DescribeAclsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(flexible, self.error_message.as_deref());
        w.array(flexible, &self.resources, |w, res| {
            w.i8(res.resource_type);
            w.string(flexible, &res.resource_name);
            if version >= 1 {
                w.i8(res.pattern_type);
            }
            w.array(flexible, &res.acls, |w, a| {
                w.string(flexible, &a.principal);
                w.string(flexible, &a.host);
                w.i8(a.operation);
                w.i8(a.permission_type);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
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
        let mut m = DescribeAclsResponse {
            throttle_time_ms: r.i32()?,
            error_code: r.i16()?,
            error_message: r.nullable_string(flexible)?,
            ..Default::default()
        };
        m.resources = r.array(flexible, |r| {
            let resource_type = r.i8()?;
            let resource_name = r.string(flexible)?;
            let pattern_type = if version >= 1 { r.i8()? } else { LITERAL };
            let acls = r.array(flexible, |r| {
                let a = AclDescription {
                    principal: r.string(flexible)?,
                    host: r.string(flexible)?,
                    operation: r.i8()?,
                    permission_type: r.i8()?,
                };
                r.tagged_fields_if(flexible)?;
                Ok(a)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(DescribeAclsResource { resource_type, resource_name, pattern_type, acls })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
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

    fn sample_response(v: i16) -> DescribeAclsResponse {
        DescribeAclsResponse {
            throttle_time_ms: 5,
            error_code: 0,
            error_message: None,
            resources: vec![DescribeAclsResource {
                resource_type: 2,
                resource_name: "orders".into(),
                pattern_type: if v >= 1 { 4 } else { LITERAL },
                acls: vec![AclDescription { principal: "User:alice".into(), host: "*".into(), operation: 3, permission_type: 3 }],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = DescribeAclsRequest {
                resource_type_filter: 1,
                resource_name_filter: Some("x".into()),
                pattern_type_filter: if v >= 1 { 2 } else { LITERAL },
                principal_filter: None,
                host_filter: Some("*".into()),
                operation: 1,
                permission_type: 1,
                ..Default::default()
            };
            round_trip(&req, v);
            assert_prefixes_fail(&req, v);
            round_trip(&sample_response(v), v);
            assert_prefixes_fail(&sample_response(v), v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        // v0: type, null name, null principal, null host, op, perm
        let req = DescribeAclsRequest { resource_type_filter: 2, operation: 1, permission_type: 1, ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 1]);
        // v2 (compact): null strings are 0, pattern type follows the name
        assert_eq!(&round_trip(&req, 2)[..], &[2, 0, 3, 0, 0, 1, 1, 0]);
    }
}
