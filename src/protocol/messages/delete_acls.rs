//! DeleteAcls (key 31), versions 0-2 (flexible from v2; the pattern type
//! from v1): removes the ACLs matching each filter and returns them. Maps to
//! `DeleteAclsRequest.json` / `DeleteAclsResponse.json`. Tagged fields are
//! kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DeleteAcls;
const MIN: i16 = 0;
const MAX: i16 = 2;
const LITERAL: i8 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteAclsRequest {
    pub filters: Vec<DeleteAclsFilter>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAclsFilter {
    pub resource_type_filter: i8,
    pub resource_name_filter: Option<String>,
    pub pattern_type_filter: i8,
    pub principal_filter: Option<String>,
    pub host_filter: Option<String>,
    pub operation: i8,
    pub permission_type: i8,
}

impl Default for DeleteAclsFilter {
    fn default() -> Self {
        DeleteAclsFilter {
            resource_type_filter: 0,
            resource_name_filter: None,
            pattern_type_filter: LITERAL,
            principal_filter: None,
            host_filter: None,
            operation: 0,
            permission_type: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteAclsResponse {
    pub throttle_time_ms: i32,
    pub filter_results: Vec<DeleteAclsFilterResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteAclsFilterResult {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub matching_acls: Vec<DeleteAclsMatchingAcl>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAclsMatchingAcl {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission_type: i8,
}

impl Default for DeleteAclsMatchingAcl {
    fn default() -> Self {
        DeleteAclsMatchingAcl {
            error_code: 0,
            error_message: None,
            resource_type: 0,
            resource_name: String::new(),
            pattern_type: LITERAL,
            principal: String::new(),
            host: String::new(),
            operation: 0,
            permission_type: 0,
        }
    }
}

impl Message for DeleteAclsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.filters, |w, f| {
            w.i8(f.resource_type_filter);
            w.nullable_string(flexible, f.resource_name_filter.as_deref());
            if version >= 1 {
                w.i8(f.pattern_type_filter);
            }
            w.nullable_string(flexible, f.principal_filter.as_deref());
            w.nullable_string(flexible, f.host_filter.as_deref());
            w.i8(f.operation);
            w.i8(f.permission_type);
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
        let filters = r.array(flexible, |r| {
            let resource_type_filter = r.i8()?;
            let resource_name_filter = r.nullable_string(flexible)?;
            let pattern_type_filter = if version >= 1 { r.i8()? } else { LITERAL };
            let f = DeleteAclsFilter {
                resource_type_filter,
                resource_name_filter,
                pattern_type_filter,
                principal_filter: r.nullable_string(flexible)?,
                host_filter: r.nullable_string(flexible)?,
                operation: r.i8()?,
                permission_type: r.i8()?,
            };
            r.tagged_fields_if(flexible)?;
            Ok(f)
        })?;
        Ok(DeleteAclsRequest { filters, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

impl Message for DeleteAclsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.filter_results, |w, fr| {
            w.i16(fr.error_code);
            w.nullable_string(flexible, fr.error_message.as_deref());
            w.array(flexible, &fr.matching_acls, |w, m| {
                w.i16(m.error_code);
                w.nullable_string(flexible, m.error_message.as_deref());
                w.i8(m.resource_type);
                w.string(flexible, &m.resource_name);
                if version >= 1 {
                    w.i8(m.pattern_type);
                }
                w.string(flexible, &m.principal);
                w.string(flexible, &m.host);
                w.i8(m.operation);
                w.i8(m.permission_type);
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
        let throttle_time_ms = r.i32()?;
        let filter_results = r.array(flexible, |r| {
            let error_code = r.i16()?;
            let error_message = r.nullable_string(flexible)?;
            let matching_acls = r.array(flexible, |r| {
                let error_code = r.i16()?;
                let error_message = r.nullable_string(flexible)?;
                let resource_type = r.i8()?;
                let resource_name = r.string(flexible)?;
                let pattern_type = if version >= 1 { r.i8()? } else { LITERAL };
                let m = DeleteAclsMatchingAcl {
                    error_code,
                    error_message,
                    resource_type,
                    resource_name,
                    pattern_type,
                    principal: r.string(flexible)?,
                    host: r.string(flexible)?,
                    operation: r.i8()?,
                    permission_type: r.i8()?,
                };
                r.tagged_fields_if(flexible)?;
                Ok(m)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(DeleteAclsFilterResult { error_code, error_message, matching_acls })
        })?;
        Ok(DeleteAclsResponse { throttle_time_ms, filter_results, tagged_fields: r.tagged_fields_if(flexible)? })
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
            let pt = if v >= 1 { 4 } else { LITERAL };
            let req = DeleteAclsRequest {
                filters: vec![DeleteAclsFilter {
                    resource_type_filter: 2,
                    resource_name_filter: Some("t".into()),
                    pattern_type_filter: pt,
                    principal_filter: Some("User:a".into()),
                    host_filter: None,
                    operation: 1,
                    permission_type: 1,
                }],
                ..Default::default()
            };
            round_trip(&req, v);
            assert_prefixes_fail(&req, v);
            let resp = DeleteAclsResponse {
                throttle_time_ms: 3,
                filter_results: vec![DeleteAclsFilterResult {
                    error_code: 0,
                    error_message: None,
                    matching_acls: vec![DeleteAclsMatchingAcl {
                        resource_type: 2,
                        resource_name: "t".into(),
                        pattern_type: pt,
                        principal: "User:a".into(),
                        host: "*".into(),
                        operation: 3,
                        permission_type: 3,
                        ..Default::default()
                    }],
                }],
                ..Default::default()
            };
            round_trip(&resp, v);
            assert_prefixes_fail(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = DeleteAclsRequest { filters: vec![DeleteAclsFilter { resource_type_filter: 1, operation: 1, permission_type: 1, ..Default::default() }], ..Default::default() };
        assert_eq!(&round_trip(&req, 1)[..], &[0, 0, 0, 1, 1, 0xff, 0xff, 3, 0xff, 0xff, 0xff, 0xff, 1, 1]);
        assert_eq!(&round_trip(&req, 2)[..], &[2, 1, 0, 3, 0, 0, 1, 1, 0, 0]);
    }
}
