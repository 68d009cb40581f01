//! DescribeConfigs (key 32), versions 0-4: the configs of topics and brokers
//! with their sources. Maps to `DescribeConfigsRequest.json` /
//! `DescribeConfigsResponse.json`: v1 adds synonyms and the config source
//! (v0 has `is_default` instead), v3 adds the config type and documentation,
//! v4 is flexible.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeConfigs;

/// Resource types (`org.apache.kafka.common.config.ConfigResource.Type`).
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_BROKER_LOGGER: i8 = 8;

/// Config sources (`DescribeConfigsResponse.ConfigSource`).
pub const SOURCE_UNKNOWN: i8 = 0;
pub const SOURCE_TOPIC_CONFIG: i8 = 1;
pub const SOURCE_DYNAMIC_BROKER_CONFIG: i8 = 2;
pub const SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
pub const SOURCE_STATIC_BROKER_CONFIG: i8 = 4;
pub const SOURCE_DEFAULT_CONFIG: i8 = 5;
pub const SOURCE_DYNAMIC_BROKER_LOGGER_CONFIG: i8 = 6;

/// Config types (`DescribeConfigsResponse.ConfigType`), v3+.
pub const TYPE_UNKNOWN: i8 = 0;
pub const TYPE_BOOLEAN: i8 = 1;
pub const TYPE_STRING: i8 = 2;
pub const TYPE_INT: i8 = 3;
pub const TYPE_SHORT: i8 = 4;
pub const TYPE_LONG: i8 = 5;
pub const TYPE_DOUBLE: i8 = 6;
pub const TYPE_LIST: i8 = 7;
pub const TYPE_CLASS: i8 = 8;
pub const TYPE_PASSWORD: i8 = 9;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeConfigsResource {
    pub resource_type: i8,
    pub resource_name: String,
    /// Null = every key.
    pub configuration_keys: Option<Vec<String>>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeConfigsRequest {
    pub resources: Vec<DescribeConfigsResource>,
    /// v1+
    pub include_synonyms: bool,
    /// v3+
    pub include_documentation: bool,
    pub tagged_fields: TaggedFields,
}

impl Message for DescribeConfigsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.resources, |w, r| {
            w.i8(r.resource_type);
            w.string(flexible, &r.resource_name);
            w.nullable_array(flexible, r.configuration_keys.as_deref(), |w, k| w.string(flexible, k));
            if flexible {
                w.tagged_fields(&r.tagged_fields);
            }
        });
        if version >= 1 {
            w.bool(self.include_synonyms);
        }
        if version >= 3 {
            w.bool(self.include_documentation);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        let resources = r.array(flexible, |r| {
            Ok(DescribeConfigsResource {
                resource_type: r.i8()?,
                resource_name: r.string(flexible)?,
                configuration_keys: r.nullable_array(flexible, |r| r.string(flexible))?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        let include_synonyms = if version >= 1 { r.bool()? } else { false };
        let include_documentation = if version >= 3 { r.bool()? } else { false };
        Ok(DescribeConfigsRequest {
            resources,
            include_synonyms,
            include_documentation,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeConfigsSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsResourceResult {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    /// v0 only
    pub is_default: bool,
    /// v1+ (default -1)
    pub config_source: i8,
    pub is_sensitive: bool,
    /// v1+
    pub synonyms: Vec<DescribeConfigsSynonym>,
    /// v3+ (default 0)
    pub config_type: i8,
    /// v3+
    pub documentation: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Default for DescribeConfigsResourceResult {
    fn default() -> Self {
        DescribeConfigsResourceResult {
            name: String::new(),
            value: None,
            read_only: false,
            is_default: false,
            config_source: -1,
            is_sensitive: false,
            synonyms: Vec::new(),
            config_type: 0,
            documentation: None,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeConfigsResult {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<DescribeConfigsResourceResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeConfigsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<DescribeConfigsResult>,
    pub tagged_fields: TaggedFields,
}

impl Message for DescribeConfigsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, res| {
            w.i16(res.error_code);
            w.nullable_string(flexible, res.error_message.as_deref());
            w.i8(res.resource_type);
            w.string(flexible, &res.resource_name);
            w.array(flexible, &res.configs, |w, c| {
                w.string(flexible, &c.name);
                w.nullable_string(flexible, c.value.as_deref());
                w.bool(c.read_only);
                if version == 0 {
                    w.bool(c.is_default);
                } else {
                    w.i8(c.config_source);
                }
                w.bool(c.is_sensitive);
                if version >= 1 {
                    w.array(flexible, &c.synonyms, |w, s| {
                        w.string(flexible, &s.name);
                        w.nullable_string(flexible, s.value.as_deref());
                        w.i8(s.source);
                        if flexible {
                            w.tagged_fields(&s.tagged_fields);
                        }
                    });
                }
                if version >= 3 {
                    w.i8(c.config_type);
                    w.nullable_string(flexible, c.documentation.as_deref());
                }
                if flexible {
                    w.tagged_fields(&c.tagged_fields);
                }
            });
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
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        let throttle_time_ms = r.i32()?;
        let results = r.array(flexible, |r| {
            let error_code = r.i16()?;
            let error_message = r.nullable_string(flexible)?;
            let resource_type = r.i8()?;
            let resource_name = r.string(flexible)?;
            let configs = r.array(flexible, |r| {
                let name = r.string(flexible)?;
                let value = r.nullable_string(flexible)?;
                let read_only = r.bool()?;
                let (is_default, config_source) = if version == 0 { (r.bool()?, -1) } else { (false, r.i8()?) };
                let is_sensitive = r.bool()?;
                let synonyms = if version >= 1 {
                    r.array(flexible, |r| {
                        Ok(DescribeConfigsSynonym {
                            name: r.string(flexible)?,
                            value: r.nullable_string(flexible)?,
                            source: r.i8()?,
                            tagged_fields: r.tagged_fields_if(flexible)?,
                        })
                    })?
                } else {
                    Vec::new()
                };
                let (config_type, documentation) =
                    if version >= 3 { (r.i8()?, r.nullable_string(flexible)?) } else { (0, None) };
                Ok(DescribeConfigsResourceResult {
                    name,
                    value,
                    read_only,
                    is_default,
                    config_source,
                    is_sensitive,
                    synonyms,
                    config_type,
                    documentation,
                    tagged_fields: r.tagged_fields_if(flexible)?,
                })
            })?;
            Ok(DescribeConfigsResult {
                error_code,
                error_message,
                resource_type,
                resource_name,
                configs,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(DescribeConfigsResponse { throttle_time_ms, results, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: i16) -> DescribeConfigsRequest {
        DescribeConfigsRequest {
            resources: vec![
                DescribeConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: "t".into(),
                    configuration_keys: None,
                    tagged_fields: TaggedFields::default(),
                },
                DescribeConfigsResource {
                    resource_type: RESOURCE_BROKER,
                    resource_name: "0".into(),
                    configuration_keys: Some(vec!["log.retention.hours".into()]),
                    tagged_fields: TaggedFields::default(),
                },
            ],
            include_synonyms: v >= 1,
            include_documentation: v >= 3,
            tagged_fields: TaggedFields::default(),
        }
    }

    fn response(v: i16) -> DescribeConfigsResponse {
        DescribeConfigsResponse {
            throttle_time_ms: 0,
            results: vec![DescribeConfigsResult {
                error_code: 0,
                error_message: None,
                resource_type: RESOURCE_TOPIC,
                resource_name: "t".into(),
                configs: vec![
                    DescribeConfigsResourceResult {
                        name: "max.message.bytes".into(),
                        value: Some("200000".into()),
                        read_only: false,
                        is_default: false,
                        config_source: if v >= 1 { SOURCE_TOPIC_CONFIG } else { -1 },
                        is_sensitive: false,
                        synonyms: if v >= 1 {
                            vec![DescribeConfigsSynonym {
                                name: "max.message.bytes".into(),
                                value: Some("200000".into()),
                                source: SOURCE_TOPIC_CONFIG,
                                tagged_fields: TaggedFields::default(),
                            }]
                        } else {
                            vec![]
                        },
                        config_type: if v >= 3 { TYPE_INT } else { 0 },
                        documentation: if v >= 3 { Some("doc".into()) } else { None },
                        tagged_fields: TaggedFields::default(),
                    },
                    DescribeConfigsResourceResult {
                        name: "secret".into(),
                        value: None,
                        is_default: v == 0,
                        is_sensitive: true,
                        config_source: if v >= 1 { SOURCE_DEFAULT_CONFIG } else { -1 },
                        ..Default::default()
                    },
                ],
                tagged_fields: TaggedFields::default(),
            }],
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in 0..=4 {
            let req = request(v);
            assert_eq!(DescribeConfigsRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap(), req, "v{v}");
            let resp = response(v);
            assert_eq!(DescribeConfigsResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp, "v{v}");
        }
        assert!(request(0).to_bytes(5).is_err());
    }

    #[test]
    fn wire_layout() {
        let req = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource { resource_type: 2, resource_name: "ab".into(), ..Default::default() }],
            ..Default::default()
        };
        // v0: array len, type, string, null array (-1).
        assert_eq!(&req.to_bytes(0).unwrap()[..], &[0, 0, 0, 1, 2, 0, 2, b'a', b'b', 0xff, 0xff, 0xff, 0xff]);
        // v4: compact array (2), type, compact string (3), compact null array (0),
        // tags, synonyms, documentation, tags.
        assert_eq!(&req.to_bytes(4).unwrap()[..], &[2, 2, 3, b'a', b'b', 0, 0, 0, 0, 0]);
    }
}
