//! Metadata (key 3), versions 0-11 (flexible from v9): which brokers exist, who
//! the controller is, and the leader/replicas/ISR of each partition of the
//! topics asked for. Maps to `MetadataRequest.json` / `MetadataResponse.json`.
//!
//! Request topics: `None` (v1+) asks for every topic. In v0 the field cannot be
//! null and an *empty* list means "all topics"; the handler must treat v0 `[]`
//! that way. Encoding `None` at v0 is an error rather than a silent rewrite.

use crate::protocol::{
    check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer,
};

const KEY: ApiKey = ApiKey::Metadata;
const MIN: i16 = 0;
const MAX: i16 = 11;


#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRequest {
    /// Nullable from v1 (null = all topics). Defaults to an empty list.
    pub topics: Option<Vec<MetadataRequestTopic>>,
    /// v4+; default true. Versions 0-3 always behave as if true.
    pub allow_auto_topic_creation: bool,
    /// v8-10
    pub include_cluster_authorized_operations: bool,
    /// v8+
    pub include_topic_authorized_operations: bool,
    pub tagged_fields: TaggedFields,
}

impl Default for MetadataRequest {
    fn default() -> Self {
        MetadataRequest {
            topics: Some(Vec::new()),
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataRequestTopic {
    /// v10+ (all zero when the client only knows the name)
    pub topic_id: [u8; 16],
    /// Nullable from v10 (a lookup by id); must be set in v0-9.
    pub name: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Message for MetadataRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version < 1 && self.topics.is_none() {
            return Err(CodecError::UnexpectedNull("MetadataRequest.topics (v0)"));
        }
        if let Some(topics) = &self.topics {
            if version < 10 && topics.iter().any(|t| t.name.is_none()) {
                return Err(CodecError::UnexpectedNull("MetadataRequestTopic.name (before v10)"));
            }
        }
        w.nullable_array(flexible, self.topics.as_deref(), |w, t| {
            if version >= 10 {
                w.uuid(&t.topic_id);
            }
            w.nullable_string(flexible, t.name.as_deref());
            if flexible {
                w.tagged_fields(&t.tagged_fields);
            }
        });
        if version >= 4 {
            w.bool(self.allow_auto_topic_creation);
        }
        if (8..=10).contains(&version) {
            w.bool(self.include_cluster_authorized_operations);
        }
        if version >= 8 {
            w.bool(self.include_topic_authorized_operations);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = MetadataRequest::default();
        let topics = r.nullable_array(flexible, |r| {
            let mut t = MetadataRequestTopic::default();
            if version >= 10 {
                t.topic_id = r.uuid()?;
                t.name = r.nullable_string(flexible)?;
            } else {
                t.name = Some(r.string(flexible)?);
            }
            t.tagged_fields = r.tagged_fields_if(flexible)?;
            Ok(t)
        })?;
        if version < 1 && topics.is_none() {
            return Err(CodecError::UnexpectedNull("MetadataRequest.topics (v0)"));
        }
        m.topics = topics;
        if version >= 4 {
            m.allow_auto_topic_creation = r.bool()?;
        }
        if (8..=10).contains(&version) {
            m.include_cluster_authorized_operations = r.bool()?;
        }
        if version >= 8 {
            m.include_topic_authorized_operations = r.bool()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponse {
    /// v3+
    pub throttle_time_ms: i32,
    pub brokers: Vec<MetadataResponseBroker>,
    /// v2+; default null
    pub cluster_id: Option<String>,
    /// v1+; default -1
    pub controller_id: i32,
    pub topics: Vec<MetadataResponseTopic>,
    /// v8-10; default i32::MIN (not requested)
    pub cluster_authorized_operations: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for MetadataResponse {
    fn default() -> Self {
        MetadataResponse {
            throttle_time_ms: 0,
            brokers: Vec::new(),
            cluster_id: None,
            controller_id: -1,
            topics: Vec::new(),
            cluster_authorized_operations: i32::MIN,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataResponseBroker {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    /// v1+; default null
    pub rack: Option<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponseTopic {
    pub error_code: ErrorCode,
    /// Non-null on the wire in 2.8 (nullable only from Metadata v12, which 2.8 lacks).
    pub name: String,
    /// v10+
    pub topic_id: [u8; 16],
    /// v1+; default false
    pub is_internal: bool,
    pub partitions: Vec<MetadataResponsePartition>,
    /// v8+; default i32::MIN (not requested)
    pub topic_authorized_operations: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for MetadataResponseTopic {
    fn default() -> Self {
        MetadataResponseTopic {
            error_code: 0,
            name: String::new(),
            topic_id: [0; 16],
            is_internal: false,
            partitions: Vec::new(),
            topic_authorized_operations: i32::MIN,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponsePartition {
    pub error_code: ErrorCode,
    pub partition_index: i32,
    pub leader_id: i32,
    /// v7+; default -1
    pub leader_epoch: i32,
    pub replica_nodes: Vec<i32>,
    pub isr_nodes: Vec<i32>,
    /// v5+
    pub offline_replicas: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

impl Default for MetadataResponsePartition {
    fn default() -> Self {
        MetadataResponsePartition {
            error_code: 0,
            partition_index: 0,
            leader_id: 0,
            leader_epoch: -1,
            replica_nodes: Vec::new(),
            isr_nodes: Vec::new(),
            offline_replicas: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl Message for MetadataResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.brokers, |w, b| {
            w.i32(b.node_id);
            w.string(flexible, &b.host);
            w.i32(b.port);
            if version >= 1 {
                w.nullable_string(flexible, b.rack.as_deref());
            }
            if flexible {
                w.tagged_fields(&b.tagged_fields);
            }
        });
        if version >= 2 {
            w.nullable_string(flexible, self.cluster_id.as_deref());
        }
        if version >= 1 {
            w.i32(self.controller_id);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.i16(t.error_code);
            w.string(flexible, &t.name);
            if version >= 10 {
                w.uuid(&t.topic_id);
            }
            if version >= 1 {
                w.bool(t.is_internal);
            }
            w.array(flexible, &t.partitions, |w, p| {
                w.i16(p.error_code);
                w.i32(p.partition_index);
                w.i32(p.leader_id);
                if version >= 7 {
                    w.i32(p.leader_epoch);
                }
                w.i32_array(flexible, &p.replica_nodes);
                w.i32_array(flexible, &p.isr_nodes);
                if version >= 5 {
                    w.i32_array(flexible, &p.offline_replicas);
                }
                if flexible {
                    w.tagged_fields(&p.tagged_fields);
                }
            });
            if version >= 8 {
                w.i32(t.topic_authorized_operations);
            }
            if flexible {
                w.tagged_fields(&t.tagged_fields);
            }
        });
        if (8..=10).contains(&version) {
            w.i32(self.cluster_authorized_operations);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = MetadataResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32()?;
        }
        m.brokers = r.array(flexible, |r| {
            let mut b = MetadataResponseBroker {
                node_id: r.i32()?,
                host: r.string(flexible)?,
                port: r.i32()?,
                ..Default::default()
            };
            if version >= 1 {
                b.rack = r.nullable_string(flexible)?;
            }
            b.tagged_fields = r.tagged_fields_if(flexible)?;
            Ok(b)
        })?;
        if version >= 2 {
            m.cluster_id = r.nullable_string(flexible)?;
        }
        if version >= 1 {
            m.controller_id = r.i32()?;
        }
        m.topics = r.array(flexible, |r| {
            let mut t = MetadataResponseTopic {
                error_code: r.i16()?,
                name: r.string(flexible)?,
                ..Default::default()
            };
            if version >= 10 {
                t.topic_id = r.uuid()?;
            }
            if version >= 1 {
                t.is_internal = r.bool()?;
            }
            t.partitions = r.array(flexible, |r| {
                let mut p = MetadataResponsePartition {
                    error_code: r.i16()?,
                    partition_index: r.i32()?,
                    leader_id: r.i32()?,
                    ..Default::default()
                };
                if version >= 7 {
                    p.leader_epoch = r.i32()?;
                }
                p.replica_nodes = r.i32_array(flexible)?;
                p.isr_nodes = r.i32_array(flexible)?;
                if version >= 5 {
                    p.offline_replicas = r.i32_array(flexible)?;
                }
                p.tagged_fields = r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            if version >= 8 {
                t.topic_authorized_operations = r.i32()?;
            }
            t.tagged_fields = r.tagged_fields_if(flexible)?;
            Ok(t)
        })?;
        if (8..=10).contains(&version) {
            m.cluster_authorized_operations = r.i32()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestHeader;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn sample_request(v: i16) -> MetadataRequest {
        let mut m = MetadataRequest::default();
        m.topics = Some(vec![
            MetadataRequestTopic {
                topic_id: if v >= 10 { [7; 16] } else { [0; 16] },
                name: Some("orders".into()),
                tagged_fields: TaggedFields::default(),
            },
            MetadataRequestTopic {
                topic_id: if v >= 10 { [9; 16] } else { [0; 16] },
                name: if v >= 10 { None } else { Some("x".into()) },
                tagged_fields: TaggedFields::default(),
            },
        ]);
        if v >= 4 {
            m.allow_auto_topic_creation = false;
        }
        if (8..=10).contains(&v) {
            m.include_cluster_authorized_operations = true;
        }
        if v >= 8 {
            m.include_topic_authorized_operations = true;
        }
        if v >= 9 {
            m.tagged_fields = TaggedFields(vec![(3, Bytes::from_static(b"zz"))]);
        }
        m
    }

    fn sample_response(v: i16) -> MetadataResponse {
        let mut m = MetadataResponse::default();
        if v >= 3 {
            m.throttle_time_ms = 12;
        }
        m.brokers = vec![
            MetadataResponseBroker {
                node_id: 1,
                host: "b1.local".into(),
                port: 9092,
                rack: if v >= 1 { Some("r1".into()) } else { None },
                tagged_fields: TaggedFields::default(),
            },
            MetadataResponseBroker { node_id: 2, host: "b2".into(), port: 9093, ..Default::default() },
        ];
        if v >= 2 {
            m.cluster_id = Some("cluster-A".into());
        }
        if v >= 1 {
            m.controller_id = 2;
        }
        let mut t = MetadataResponseTopic {
            error_code: 0,
            name: "orders".into(),
            ..Default::default()
        };
        if v >= 10 {
            t.topic_id = [0xab; 16];
        }
        if v >= 1 {
            t.is_internal = true;
        }
        if v >= 8 {
            t.topic_authorized_operations = 0x0f8;
        }
        let mut p = MetadataResponsePartition {
            error_code: 9,
            partition_index: 3,
            leader_id: 1,
            replica_nodes: vec![1, 2],
            isr_nodes: vec![1],
            ..Default::default()
        };
        if v >= 7 {
            p.leader_epoch = 5;
        }
        if v >= 5 {
            p.offline_replicas = vec![2];
        }
        t.partitions = vec![p];
        m.topics = vec![t, MetadataResponseTopic { error_code: 3, name: "gone".into(), ..Default::default() }];
        if (8..=10).contains(&v) {
            m.cluster_authorized_operations = 0x1234;
        }
        m
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&MetadataResponse::default(), v);
            if v >= 1 {
                round_trip(&MetadataRequest { topics: None, ..Default::default() }, v);
            }
        }
    }

    #[test]
    fn defaults_match_schema() {
        let r = MetadataRequest::default();
        assert!(r.allow_auto_topic_creation);
        assert!(!r.include_cluster_authorized_operations);
        assert_eq!(MetadataResponse::default().controller_id, -1);
        assert_eq!(MetadataResponse::default().cluster_authorized_operations, i32::MIN);
        assert_eq!(MetadataResponseTopic::default().topic_authorized_operations, i32::MIN);
        assert_eq!(MetadataResponsePartition::default().leader_epoch, -1);
    }

    #[test]
    fn null_topics_rejected_in_v0() {
        let m = MetadataRequest { topics: None, ..Default::default() };
        assert!(m.to_bytes(0).is_err());
        // int32 -1 array length in v0
        assert!(MetadataRequest::from_bytes(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]), 0).is_err());
        // ... but fine in v1
        assert_eq!(
            MetadataRequest::from_bytes(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]), 1).unwrap().topics,
            None
        );
        // a null topic name is only legal from v10
        let m = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic::default()]),
            ..Default::default()
        };
        assert!(m.to_bytes(9).is_err());
        assert!(m.to_bytes(10).is_ok());
    }

    #[test]
    fn hand_checked_bytes() {
        // Request v4: topics ["t"], allow_auto_topic_creation=false
        let m = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic { name: Some("t".into()), ..Default::default() }]),
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        let b = round_trip(&m, 4);
        assert_eq!(&b[..], &[0, 0, 0, 1, 0, 1, b't', 0]);

        // Request v9 (flexible): null topics, allow=true, include_cluster=false, include_topic=false
        let m = MetadataRequest { topics: None, ..Default::default() };
        assert_eq!(&round_trip(&m, 9)[..], &[0, 1, 0, 0, 0]);

        // Request v11: one topic by name, zero uuid
        let m = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic { name: Some("ab".into()), ..Default::default() }]),
            ..Default::default()
        };
        let mut want = vec![2u8];
        want.extend_from_slice(&[0; 16]);
        want.extend_from_slice(&[3, b'a', b'b', 0, 1, 0, 0]);
        assert_eq!(&round_trip(&m, 11)[..], &want[..]);

        // Response v1: one broker (id 1, "h", 9092, rack null), controller 1,
        // one topic "t" with one partition led by 1, replicas [1], isr [1].
        let m = MetadataResponse {
            brokers: vec![MetadataResponseBroker { node_id: 1, host: "h".into(), port: 9092, ..Default::default() }],
            controller_id: 1,
            topics: vec![MetadataResponseTopic {
                name: "t".into(),
                partitions: vec![MetadataResponsePartition {
                    leader_id: 1,
                    replica_nodes: vec![1],
                    isr_nodes: vec![1],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 0, 0, 1,             // brokers: 1
            0, 0, 0, 1,             //   node_id
            0, 1, b'h',             //   host
            0, 0, 0x23, 0x84,       //   port 9092
            0xff, 0xff,             //   rack null
            0, 0, 0, 1,             // controller_id
            0, 0, 0, 1,             // topics: 1
            0, 0,                   //   error_code
            0, 1, b't',             //   name
            0,                      //   is_internal
            0, 0, 0, 1,             //   partitions: 1
            0, 0,                   //     error_code
            0, 0, 0, 0,             //     partition_index
            0, 0, 0, 1,             //     leader_id
            0, 0, 0, 1, 0, 0, 0, 1, //     replicas [1]
            0, 0, 0, 1, 0, 0, 0, 1, //     isr [1]
        ];
        assert_eq!(&round_trip(&m, 1)[..], want);

        // Response v9 (flexible), no brokers/topics, cluster id "c", controller 2
        let m = MetadataResponse {
            cluster_id: Some("c".into()),
            controller_id: 2,
            cluster_authorized_operations: i32::MIN,
            ..Default::default()
        };
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 0, 0, 0,             // throttle
            1,                      // brokers: 0
            2, b'c',                // cluster id
            0, 0, 0, 2,             // controller id
            1,                      // topics: 0
            0x80, 0, 0, 0,          // cluster authorized ops
            0,                      // tags
        ];
        assert_eq!(&round_trip(&m, 9)[..], want);
    }

    #[test]
    fn truncated_input_errors_without_panicking() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
        }
        assert!(MetadataRequest::from_bytes(Bytes::new(), 12).is_err());
    }

    // ---- requests captured from real clients (tests/tools/capture_requests.py) ----

    /// Parses a fixture: `#` comments, then hex of one whole request frame
    /// (size prefix, header, body). Returns the header and the body bytes.
    fn check_capture(text: &str) -> (RequestHeader, MetadataRequest) {
        super::super::test_util::check_capture::<MetadataRequest>(text)
    }

    fn names(m: &MetadataRequest) -> Option<Vec<String>> {
        m.topics
            .as_ref()
            .map(|ts| ts.iter().map(|t| t.name.clone().unwrap_or_default()).collect())
    }

    #[test]
    fn captured_kcat_metadata() {
        // kcat -L: first a brokers-only query (empty list, no auto-create) ...
        let (h, m) = check_capture(include_str!("testdata/metadata_request_kcat_brokers.hex"));
        assert_eq!((h.api_version, h.client_id.as_deref()), (4, Some("rdkafka")));
        assert_eq!(names(&m), Some(vec![]));
        assert!(!m.allow_auto_topic_creation);
        // ... then all topics (null list)
        let (h, m) = check_capture(include_str!("testdata/metadata_request_kcat_all_topics.hex"));
        assert_eq!(h.api_version, 4);
        assert_eq!(names(&m), None);
        assert!(m.allow_auto_topic_creation);
        // kcat -P -t zk-capture: the one topic it produces to
        let (h, m) = check_capture(include_str!("testdata/metadata_request_kcat_topic.hex"));
        assert_eq!(h.api_version, 4);
        assert_eq!(names(&m), Some(vec!["zk-capture".to_string()]));
        assert!(m.allow_auto_topic_creation);
    }

    #[test]
    fn captured_confluent_kafka_metadata() {
        // librdkafka 2.x (confluent-kafka 2.16), v11 flexible. Depending on timing
        // its first Metadata is a brokers-only query (empty list, no auto-create) ...
        let (h, m) = check_capture(include_str!("testdata/metadata_request_confluent_kafka_brokers.hex"));
        assert_eq!((h.api_version, h.client_id.as_deref()), (11, Some("zk-capture-ck")));
        assert!(h.tagged_fields.is_empty());
        assert_eq!(names(&m), Some(vec![]));
        assert!(!m.allow_auto_topic_creation);
        assert!(!m.include_topic_authorized_operations);
        // ... or one for the topic being produced to (by name, zero topic id)
        let (h, m) = check_capture(include_str!("testdata/metadata_request_confluent_kafka_topic.hex"));
        assert_eq!(h.api_version, 11);
        assert_eq!(names(&m), Some(vec!["zk-capture".to_string()]));
        assert_eq!(m.topics.as_ref().map(|t| t[0].topic_id), Some([0; 16]));
        assert!(m.allow_auto_topic_creation);
    }

    #[test]
    fn captured_kafka_python_metadata() {
        // kafka-python 3.0 bootstrap: v11, empty topic list (brokers only)
        let (h, m) = check_capture(include_str!("testdata/metadata_request_kafka_python.hex"));
        assert_eq!((h.api_version, h.client_id.as_deref()), (11, Some("zk-capture-kp")));
        assert_eq!(names(&m), Some(vec![]));
        assert!(m.allow_auto_topic_creation);
    }
}
