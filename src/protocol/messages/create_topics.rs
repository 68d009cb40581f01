//! CreateTopics (key 19), versions 0-7 (flexible from v5): create topics with a
//! partition count and replication factor or a manual assignment, plus configs.
//! Maps to `CreateTopicsRequest.json` / `CreateTopicsResponse.json`.
//!
//! The v5+ tagged `TopicConfigErrorCode` (tag 0 of each result) is typed as
//! `topic_config_error_code`; it is written only when non-zero, as Kafka does.

use crate::protocol::{
    check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer,
};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::CreateTopics;
const MIN: i16 = 0;
const MAX: i16 = 7;


#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTopicsRequest {
    pub topics: Vec<CreatableTopic>,
    /// default 60000
    pub timeout_ms: i32,
    /// v1+; default false
    pub validate_only: bool,
    pub tagged_fields: TaggedFields,
}

impl Default for CreateTopicsRequest {
    fn default() -> Self {
        CreateTopicsRequest {
            topics: Vec::new(),
            timeout_ms: 60_000,
            validate_only: false,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatableTopic {
    pub name: String,
    /// -1 with a manual assignment or to use the broker default
    pub num_partitions: i32,
    /// -1 with a manual assignment or to use the broker default
    pub replication_factor: i16,
    /// Empty for automatic assignment.
    pub assignments: Vec<CreatableReplicaAssignment>,
    pub configs: Vec<CreatableTopicConfig>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatableReplicaAssignment {
    pub partition_index: i32,
    pub broker_ids: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

/// `CreateableTopicConfig` in the schema (sic).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatableTopicConfig {
    pub name: String,
    /// nullable
    pub value: Option<String>,
    pub tagged_fields: TaggedFields,
}

/// The schema's spelling of [`CreatableTopicConfig`].
pub type CreateableTopicConfig = CreatableTopicConfig;

impl Message for CreateTopicsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.i32(t.num_partitions);
            w.i16(t.replication_factor);
            w.array(flexible, &t.assignments, |w, a| {
                w.i32(a.partition_index);
                w.i32_array(flexible, &a.broker_ids);
                if flexible {
                    w.tagged_fields(&a.tagged_fields);
                }
            });
            w.array(flexible, &t.configs, |w, c| {
                w.string(flexible, &c.name);
                w.nullable_string(flexible, c.value.as_deref());
                if flexible {
                    w.tagged_fields(&c.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&t.tagged_fields);
            }
        });
        w.i32(self.timeout_ms);
        if version >= 1 {
            w.bool(self.validate_only);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let topics = r.array(flexible, |r| {
            Ok(CreatableTopic {
                name: r.string(flexible)?,
                num_partitions: r.i32()?,
                replication_factor: r.i16()?,
                assignments: r.array(flexible, |r| {
                    Ok(CreatableReplicaAssignment {
                        partition_index: r.i32()?,
                        broker_ids: r.i32_array(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                configs: r.array(flexible, |r| {
                    Ok(CreatableTopicConfig {
                        name: r.string(flexible)?,
                        value: r.nullable_string(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        let mut m = CreateTopicsRequest { topics, timeout_ms: r.i32()?, ..Default::default() };
        if version >= 1 {
            m.validate_only = r.bool()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateTopicsResponse {
    /// v2+
    pub throttle_time_ms: i32,
    pub topics: Vec<CreatableTopicResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatableTopicResult {
    pub name: String,
    /// v7+
    pub topic_id: [u8; 16],
    pub error_code: ErrorCode,
    /// v1+; null when there was no error
    pub error_message: Option<String>,
    /// v5+, tagged (tag 0); default 0, and then not written
    pub topic_config_error_code: ErrorCode,
    /// v5+; default -1
    pub num_partitions: i32,
    /// v5+; default -1
    pub replication_factor: i16,
    /// v5+, nullable
    pub configs: Option<Vec<CreatableTopicConfigs>>,
    /// Tagged fields other than tag 0.
    pub tagged_fields: TaggedFields,
}

impl Default for CreatableTopicResult {
    fn default() -> Self {
        CreatableTopicResult {
            name: String::new(),
            topic_id: [0; 16],
            error_code: 0,
            error_message: None,
            topic_config_error_code: 0,
            num_partitions: -1,
            replication_factor: -1,
            configs: None,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatableTopicConfigs {
    pub name: String,
    /// nullable
    pub value: Option<String>,
    pub read_only: bool,
    /// default -1
    pub config_source: i8,
    pub is_sensitive: bool,
    pub tagged_fields: TaggedFields,
}

impl Default for CreatableTopicConfigs {
    fn default() -> Self {
        CreatableTopicConfigs {
            name: String::new(),
            value: None,
            read_only: false,
            config_source: -1,
            is_sensitive: false,
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl CreatableTopicResult {
    fn tagged_section(&self) -> TaggedFields {
        let mut all: Vec<(u32, Bytes)> = Vec::new();
        if self.topic_config_error_code != 0 {
            all.push((0, Bytes::copy_from_slice(&self.topic_config_error_code.to_be_bytes())));
        }
        let typed = !all.is_empty();
        all.extend(self.tagged_fields.0.iter().filter(|(t, _)| !(typed && *t == 0)).cloned());
        all.sort_by_key(|(t, _)| *t);
        TaggedFields(all)
    }

    fn take_tagged_section(&mut self, section: TaggedFields) -> Result<()> {
        let mut rest = Vec::new();
        for (tag, raw) in section.0 {
            if tag == 0 {
                let mut r = Reader::new(raw);
                self.topic_config_error_code = r.i16()?;
                if !r.is_empty() {
                    return Err(CodecError::Invalid("trailing bytes in TopicConfigErrorCode tag".into()));
                }
            } else {
                rest.push((tag, raw));
            }
        }
        self.tagged_fields = TaggedFields(rest);
        Ok(())
    }
}

impl Message for CreateTopicsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            if version >= 7 {
                w.uuid(&t.topic_id);
            }
            w.i16(t.error_code);
            if version >= 1 {
                w.nullable_string(flexible, t.error_message.as_deref());
            }
            if version >= 5 {
                w.i32(t.num_partitions);
                w.i16(t.replication_factor);
                w.nullable_array(flexible, t.configs.as_deref(), |w, c| {
                    w.string(flexible, &c.name);
                    w.nullable_string(flexible, c.value.as_deref());
                    w.bool(c.read_only);
                    w.i8(c.config_source);
                    w.bool(c.is_sensitive);
                    w.tagged_fields(&c.tagged_fields);
                });
            }
            if flexible {
                w.tagged_fields(&t.tagged_section());
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
        let mut m = CreateTopicsResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array(flexible, |r| {
            let mut t = CreatableTopicResult { name: r.string(flexible)?, ..Default::default() };
            if version >= 7 {
                t.topic_id = r.uuid()?;
            }
            t.error_code = r.i16()?;
            if version >= 1 {
                t.error_message = r.nullable_string(flexible)?;
            }
            if version >= 5 {
                t.num_partitions = r.i32()?;
                t.replication_factor = r.i16()?;
                t.configs = r.nullable_array(flexible, |r| {
                    Ok(CreatableTopicConfigs {
                        name: r.string(flexible)?,
                        value: r.nullable_string(flexible)?,
                        read_only: r.bool()?,
                        config_source: r.i8()?,
                        is_sensitive: r.bool()?,
                        tagged_fields: r.tagged_fields()?,
                    })
                })?;
            }
            if flexible {
                let section = r.tagged_fields()?;
                t.take_tagged_section(section)?;
            }
            Ok(t)
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

    fn sample_request(v: i16) -> CreateTopicsRequest {
        CreateTopicsRequest {
            topics: vec![
                CreatableTopic {
                    name: "auto".into(),
                    num_partitions: 6,
                    replication_factor: 3,
                    configs: vec![
                        CreatableTopicConfig { name: "cleanup.policy".into(), value: Some("compact".into()), ..Default::default() },
                        CreatableTopicConfig { name: "retention.ms".into(), value: None, ..Default::default() },
                    ],
                    ..Default::default()
                },
                CreatableTopic {
                    name: "manual".into(),
                    num_partitions: -1,
                    replication_factor: -1,
                    assignments: vec![
                        CreatableReplicaAssignment { partition_index: 0, broker_ids: vec![1, 2], ..Default::default() },
                        CreatableReplicaAssignment { partition_index: 1, broker_ids: vec![2, 3], ..Default::default() },
                    ],
                    ..Default::default()
                },
            ],
            timeout_ms: 30_000,
            validate_only: v >= 1,
            tagged_fields: TaggedFields::default(),
        }
    }

    fn sample_response(v: i16) -> CreateTopicsResponse {
        let mut ok = CreatableTopicResult { name: "auto".into(), ..Default::default() };
        let mut bad = CreatableTopicResult { name: "bad".into(), error_code: 36, ..Default::default() };
        if v >= 1 {
            bad.error_message = Some("Topic 'bad' already exists.".into());
        }
        if v >= 5 {
            ok.num_partitions = 6;
            ok.replication_factor = 3;
            ok.topic_config_error_code = 29;
            ok.configs = Some(vec![
                CreatableTopicConfigs {
                    name: "cleanup.policy".into(),
                    value: Some("compact".into()),
                    read_only: false,
                    config_source: 1,
                    is_sensitive: false,
                    ..Default::default()
                },
                CreatableTopicConfigs { name: "secret".into(), is_sensitive: true, ..Default::default() },
            ]);
            ok.tagged_fields = TaggedFields(vec![(4, Bytes::from_static(b"q"))]);
        }
        if v >= 7 {
            ok.topic_id = [0x5a; 16];
        }
        CreateTopicsResponse {
            throttle_time_ms: if v >= 2 { 3 } else { 0 },
            topics: vec![ok, bad],
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&CreateTopicsRequest::default(), v);
            round_trip(&CreateTopicsResponse::default(), v);
        }
        assert!(CreateTopicsRequest::default().to_bytes(8).is_err());
    }

    #[test]
    fn defaults_match_schema() {
        let r = CreateTopicsRequest::default();
        assert_eq!((r.timeout_ms, r.validate_only), (60_000, false));
        let t = CreatableTopicResult::default();
        assert_eq!((t.num_partitions, t.replication_factor, t.topic_config_error_code), (-1, -1, 0));
        assert_eq!(CreatableTopicConfigs::default().config_source, -1);
    }

    #[test]
    fn hand_checked_bytes() {
        let req = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "t".into(),
                num_partitions: 2,
                replication_factor: 1,
                configs: vec![CreatableTopicConfig { name: "k".into(), value: Some("v".into()), ..Default::default() }],
                ..Default::default()
            }],
            timeout_ms: 1000,
            validate_only: true,
            ..Default::default()
        };
        #[rustfmt::skip]
        let v1: &[u8] = &[
            0, 0, 0, 1, 0, 1, b't',  // topics: [t
            0, 0, 0, 2,              //   partitions
            0, 1,                    //   replication factor
            0, 0, 0, 0,              //   assignments: 0
            0, 0, 0, 1,              //   configs: 1
            0, 1, b'k', 0, 1, b'v',
            0, 0, 0x03, 0xe8,        // timeout
            1,                       // validate only
        ];
        assert_eq!(&round_trip(&req, 1)[..], v1);
        #[rustfmt::skip]
        let v5: &[u8] = &[
            2, 2, b't', 0, 0, 0, 2, 0, 1,
            1,                       // assignments: 0
            2, 2, b'k', 2, b'v', 0,  // configs: [k=v] + tags
            0,                       // topic tags
            0, 0, 0x03, 0xe8, 1,
            0,                       // tags
        ];
        assert_eq!(&round_trip(&req, 5)[..], v5);

        let resp = CreateTopicsResponse {
            topics: vec![CreatableTopicResult {
                name: "t".into(),
                topic_config_error_code: 29,
                configs: Some(vec![]),
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v5: &[u8] = &[
            0, 0, 0, 0,              // throttle
            2, 2, b't',              // topics: [t
            0, 0,                    //   error
            0,                       //   message null
            0xff, 0xff, 0xff, 0xff,  //   num partitions -1
            0xff, 0xff,              //   replication factor -1
            1,                       //   configs: []
            1, 0, 2, 0, 29,          //   tags: {0: int16 29}
            0,                       // tags
        ];
        assert_eq!(&round_trip(&resp, 5)[..], v5);
    }

    #[test]
    fn truncated_input_errors_without_panicking() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    // ---- requests captured from real clients (tests/tools/capture_requests.py) ----

    fn check_capture(text: &str) -> (i16, CreateTopicsRequest) {
        let (h, m) = super::super::test_util::check_capture::<CreateTopicsRequest>(text);
        (h.api_version, m)
    }

    fn expected_topic() -> CreatableTopic {
        CreatableTopic {
            name: "zk-capture-new".into(),
            num_partitions: 3,
            replication_factor: 1,
            configs: vec![CreatableTopicConfig {
                name: "cleanup.policy".into(),
                value: Some("compact".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn captured_confluent_kafka_create_topics_v4() {
        let (v, m) = check_capture(include_str!("testdata/create_topics_request_confluent_kafka.hex"));
        assert_eq!(v, 4);
        assert_eq!(m.topics, vec![expected_topic()]);
        assert_eq!((m.timeout_ms, m.validate_only), (60_000, false));
    }

    #[test]
    fn captured_kafka_python_create_topics_v7() {
        let (v, m) = check_capture(include_str!("testdata/create_topics_request_kafka_python.hex"));
        assert_eq!(v, 7);
        assert_eq!(m.topics, vec![expected_topic()]);
        assert_eq!((m.timeout_ms, m.validate_only), (4_000, false));
    }
}
