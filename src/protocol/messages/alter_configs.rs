//! AlterConfigs (key 33), versions 0-2 (flexible from v2): replaces the whole
//! dynamic config of topics and brokers (the legacy, non-incremental API).
//! Maps to `AlterConfigsRequest.json` / `AlterConfigsResponse.json`. Resource
//! types are those of `describe_configs` (`RESOURCE_TOPIC`, `RESOURCE_BROKER`).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::AlterConfigs;
const MIN: i16 = 0;
const MAX: i16 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterConfigsRequest {
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
    /// nullable
    pub value: Option<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterConfigsResponse {
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

impl Message for AlterConfigsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.resources, |w, res| {
            w.i8(res.resource_type);
            w.string(flexible, &res.resource_name);
            w.array(flexible, &res.configs, |w, c| {
                w.string(flexible, &c.name);
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
                        value: r.nullable_string(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(AlterConfigsRequest { resources, validate_only: r.bool()?, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

impl Message for AlterConfigsResponse {
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
        Ok(AlterConfigsResponse { throttle_time_ms, responses, tagged_fields: r.tagged_fields_if(flexible)? })
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

    fn sample_request(v: i16) -> AlterConfigsRequest {
        let tags = |t: &'static [u8]| if v >= 2 { TaggedFields(vec![(1, Bytes::from_static(t))]) } else { TaggedFields::default() };
        AlterConfigsRequest {
            resources: vec![
                AlterConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: "t".into(),
                    configs: vec![
                        AlterableConfig { name: "retention.ms".into(), value: Some("1000".into()), tagged_fields: tags(b"c") },
                        AlterableConfig { name: "cleanup.policy".into(), value: None, ..Default::default() },
                    ],
                    tagged_fields: tags(b"r"),
                },
                AlterConfigsResource { resource_type: RESOURCE_BROKER, resource_name: "1".into(), ..Default::default() },
            ],
            validate_only: true,
            tagged_fields: tags(b"m"),
        }
    }

    fn sample_response() -> AlterConfigsResponse {
        AlterConfigsResponse {
            throttle_time_ms: 2,
            responses: vec![
                AlterConfigsResourceResponse { resource_type: RESOURCE_TOPIC, resource_name: "t".into(), ..Default::default() },
                AlterConfigsResourceResponse {
                    error_code: error::INVALID_CONFIG,
                    error_message: Some("bad value".into()),
                    resource_type: RESOURCE_BROKER,
                    resource_name: "1".into(),
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
            round_trip(&AlterConfigsRequest::default(), v);
            round_trip(&AlterConfigsResponse::default(), v);
        }
        assert!(AlterConfigsRequest::default().to_bytes(3).is_err());
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
        let req = AlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type: 2,
                resource_name: "t".into(),
                configs: vec![AlterableConfig { name: "k".into(), value: None, ..Default::default() }],
                ..Default::default()
            }],
            validate_only: false,
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[0, 0, 0, 1, 2, 0, 1, b't', 0, 0, 0, 1, 0, 1, b'k', 0xff, 0xff, 0];
        assert_eq!(&round_trip(&req, 0)[..], v0);
        assert_eq!(&round_trip(&req, 2)[..], &[2, 2, 2, b't', 2, 2, b'k', 0, 0, 0, 0, 0]);
    }
}
