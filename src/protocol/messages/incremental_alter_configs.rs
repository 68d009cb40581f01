//! IncrementalAlterConfigs (key 44), versions 0-1 (flexible from v1): sets,
//! deletes, appends to or subtracts from single config keys of topics and
//! brokers (KIP-339). Maps to `IncrementalAlterConfigsRequest.json` /
//! `IncrementalAlterConfigsResponse.json`. Resource types are those of
//! `describe_configs` (`RESOURCE_TOPIC`, `RESOURCE_BROKER`).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
const MIN: i16 = 0;
const MAX: i16 = 1;

/// `ConfigOperation` values (`AlterConfigOp.OpType`).
pub const OP_SET: i8 = 0;
pub const OP_DELETE: i8 = 1;
pub const OP_APPEND: i8 = 2;
pub const OP_SUBTRACT: i8 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncrementalAlterConfigsRequest {
    pub resources: Vec<AlterConfigsResource>,
    pub validate_only: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterConfigsResource {
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<AlterableConfig>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterableConfig {
    pub name: String,
    /// One of `OP_SET`, `OP_DELETE`, `OP_APPEND`, `OP_SUBTRACT`.
    pub config_operation: i8,
    /// nullable
    pub value: Option<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncrementalAlterConfigsResponse {
    pub throttle_time_ms: i32,
    pub responses: Vec<AlterConfigsResourceResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterConfigsResourceResponse {
    pub error_code: ErrorCode,
    /// null when there was no error
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
    pub tagged_fields: TaggedFields,
}

impl Message for IncrementalAlterConfigsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.resources, |w, res| {
            w.i8(res.resource_type);
            w.string(flexible, &res.resource_name);
            w.array(flexible, &res.configs, |w, c| {
                w.string(flexible, &c.name);
                w.i8(c.config_operation);
                w.nullable_string(flexible, c.value.as_deref());
                if flexible {
                    w.tagged_fields(&c.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&res.tagged_fields);
            }
        });
        w.bool(self.validate_only);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let resources = r.array(flexible, |r| {
            Ok(AlterConfigsResource {
                resource_type: r.i8()?,
                resource_name: r.string(flexible)?,
                configs: r.array(flexible, |r| {
                    Ok(AlterableConfig {
                        name: r.string(flexible)?,
                        config_operation: r.i8()?,
                        value: r.nullable_string(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(IncrementalAlterConfigsRequest {
            resources,
            validate_only: r.bool()?,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

impl Message for IncrementalAlterConfigsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.responses, |w, res| {
            w.i16(res.error_code);
            w.nullable_string(flexible, res.error_message.as_deref());
            w.i8(res.resource_type);
            w.string(flexible, &res.resource_name);
            if flexible {
                w.tagged_fields(&res.tagged_fields);
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
        let responses = r.array(flexible, |r| {
            Ok(AlterConfigsResourceResponse {
                error_code: r.i16()?,
                error_message: r.nullable_string(flexible)?,
                resource_type: r.i8()?,
                resource_name: r.string(flexible)?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(IncrementalAlterConfigsResponse { throttle_time_ms, responses, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error;
    use crate::protocol::messages::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn sample_request(v: i16) -> IncrementalAlterConfigsRequest {
        IncrementalAlterConfigsRequest {
            resources: vec![
                AlterConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: "t".into(),
                    configs: vec![
                        AlterableConfig {
                            name: "leader.replication.throttled.replicas".into(),
                            config_operation: OP_SET,
                            value: Some("0:1,1:2".into()),
                            ..Default::default()
                        },
                        AlterableConfig { name: "retention.ms".into(), config_operation: OP_DELETE, value: None, ..Default::default() },
                    ],
                    ..Default::default()
                },
                AlterConfigsResource {
                    resource_type: RESOURCE_BROKER,
                    resource_name: "".into(),
                    configs: vec![AlterableConfig {
                        name: "leader.replication.throttled.rate".into(),
                        config_operation: OP_APPEND,
                        value: Some("1000".into()),
                        tagged_fields: if v >= 1 { TaggedFields(vec![(5, Bytes::from_static(b"w"))]) } else { TaggedFields::default() },
                    }],
                    ..Default::default()
                },
            ],
            validate_only: false,
            ..Default::default()
        }
    }

    fn sample_response() -> IncrementalAlterConfigsResponse {
        IncrementalAlterConfigsResponse {
            throttle_time_ms: 0,
            responses: vec![
                AlterConfigsResourceResponse { resource_type: RESOURCE_TOPIC, resource_name: "t".into(), ..Default::default() },
                AlterConfigsResourceResponse {
                    error_code: error::INVALID_REQUEST,
                    error_message: Some("no".into()),
                    resource_type: RESOURCE_BROKER,
                    resource_name: "".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(), v);
            round_trip(&IncrementalAlterConfigsRequest::default(), v);
            round_trip(&IncrementalAlterConfigsResponse::default(), v);
        }
        assert!(IncrementalAlterConfigsRequest::default().to_bytes(2).is_err());
    }

    #[test]
    fn every_prefix_fails() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(), v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = IncrementalAlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type: 4,
                resource_name: "1".into(),
                configs: vec![AlterableConfig { name: "k".into(), config_operation: OP_SET, value: Some("v".into()), ..Default::default() }],
                ..Default::default()
            }],
            validate_only: true,
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[0, 0, 0, 1, 4, 0, 1, b'1', 0, 0, 0, 1, 0, 1, b'k', 0, 0, 1, b'v', 1];
        assert_eq!(&round_trip(&req, 0)[..], v0);
        assert_eq!(&round_trip(&req, 1)[..], &[2, 4, 2, b'1', 2, 2, b'k', 0, 2, b'v', 0, 0, 1, 0]);
    }
}
