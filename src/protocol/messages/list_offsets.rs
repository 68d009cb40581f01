//! ListOffsets (key 2), versions 0-6 (flexible from v6): the offset for a
//! timestamp, or the earliest (-2) / latest (-1) offset of a partition. Maps to
//! `ListOffsetsRequest.json` / `ListOffsetsResponse.json`.
//! v0 is the old form: `MaxNumOffsets` in, a list of `OldStyleOffsets` out.

use crate::protocol::{
    check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer,
};

const KEY: ApiKey = ApiKey::ListOffsets;
const MIN: i16 = 0;
const MAX: i16 = 6;

/// Special request timestamps.
pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;


#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOffsetsRequest {
    /// Broker id of the requester, or -1 for a consumer.
    pub replica_id: i32,
    /// v2+: 0 = READ_UNCOMMITTED, 1 = READ_COMMITTED
    pub isolation_level: i8,
    pub topics: Vec<ListOffsetsTopic>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOffsetsTopic {
    pub name: String,
    pub partitions: Vec<ListOffsetsPartition>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    pub partition_index: i32,
    /// v4+; default -1
    pub current_leader_epoch: i32,
    pub timestamp: i64,
    /// v0 only; default 1
    pub max_num_offsets: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for ListOffsetsPartition {
    fn default() -> Self {
        ListOffsetsPartition {
            partition_index: 0,
            current_leader_epoch: -1,
            timestamp: 0,
            max_num_offsets: 1,
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl Message for ListOffsetsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.replica_id);
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                if version >= 4 {
                    w.i32(p.current_leader_epoch);
                }
                w.i64(p.timestamp);
                if version == 0 {
                    w.i32(p.max_num_offsets);
                }
                if flexible {
                    w.tagged_fields(&p.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&t.tagged_fields);
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
        let mut m = ListOffsetsRequest { replica_id: r.i32()?, ..Default::default() };
        if version >= 2 {
            m.isolation_level = r.i8()?;
        }
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let mut p = ListOffsetsPartition { partition_index: r.i32()?, ..Default::default() };
                if version >= 4 {
                    p.current_leader_epoch = r.i32()?;
                }
                p.timestamp = r.i64()?;
                if version == 0 {
                    p.max_num_offsets = r.i32()?;
                }
                p.tagged_fields = r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            Ok(ListOffsetsTopic { name, partitions, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOffsetsResponse {
    /// v2+
    pub throttle_time_ms: i32,
    pub topics: Vec<ListOffsetsTopicResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOffsetsTopicResponse {
    pub name: String,
    pub partitions: Vec<ListOffsetsPartitionResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    pub partition_index: i32,
    pub error_code: ErrorCode,
    /// v0 only
    pub old_style_offsets: Vec<i64>,
    /// v1+; default -1
    pub timestamp: i64,
    /// v1+; default -1
    pub offset: i64,
    /// v4+; default -1
    pub leader_epoch: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for ListOffsetsPartitionResponse {
    fn default() -> Self {
        ListOffsetsPartitionResponse {
            partition_index: 0,
            error_code: 0,
            old_style_offsets: Vec::new(),
            timestamp: -1,
            offset: -1,
            leader_epoch: -1,
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl Message for ListOffsetsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
                if version == 0 {
                    w.array(flexible, &p.old_style_offsets, |w, o| w.i64(*o));
                }
                if version >= 1 {
                    w.i64(p.timestamp);
                    w.i64(p.offset);
                }
                if version >= 4 {
                    w.i32(p.leader_epoch);
                }
                if flexible {
                    w.tagged_fields(&p.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&t.tagged_fields);
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
        let mut m = ListOffsetsResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let mut p = ListOffsetsPartitionResponse {
                    partition_index: r.i32()?,
                    error_code: r.i16()?,
                    ..Default::default()
                };
                if version == 0 {
                    p.old_style_offsets = r.array(flexible, |r| r.i64())?;
                }
                if version >= 1 {
                    p.timestamp = r.i64()?;
                    p.offset = r.i64()?;
                }
                if version >= 4 {
                    p.leader_epoch = r.i32()?;
                }
                p.tagged_fields = r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            Ok(ListOffsetsTopicResponse { name, partitions, tagged_fields: r.tagged_fields_if(flexible)? })
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

    fn sample_request(v: i16) -> ListOffsetsRequest {
        let mut p = ListOffsetsPartition { partition_index: 3, timestamp: EARLIEST_TIMESTAMP, ..Default::default() };
        if v >= 4 {
            p.current_leader_epoch = 9;
        }
        if v == 0 {
            p.max_num_offsets = 10;
        }
        ListOffsetsRequest {
            replica_id: -1,
            isolation_level: if v >= 2 { 1 } else { 0 },
            topics: vec![ListOffsetsTopic {
                name: "orders".into(),
                partitions: vec![p, ListOffsetsPartition { partition_index: 4, timestamp: 1_700_000_000_000, ..Default::default() }],
                ..Default::default()
            }],
            tagged_fields: TaggedFields::default(),
        }
    }

    fn sample_response(v: i16) -> ListOffsetsResponse {
        let mut p = ListOffsetsPartitionResponse { partition_index: 3, error_code: 0, ..Default::default() };
        if v == 0 {
            p.old_style_offsets = vec![42, 0];
        } else {
            p.timestamp = 1_700_000_000_000;
            p.offset = 42;
        }
        if v >= 4 {
            p.leader_epoch = 9;
        }
        ListOffsetsResponse {
            throttle_time_ms: if v >= 2 { 7 } else { 0 },
            topics: vec![ListOffsetsTopicResponse {
                name: "orders".into(),
                partitions: vec![p, ListOffsetsPartitionResponse { partition_index: 4, error_code: 6, ..Default::default() }],
                ..Default::default()
            }],
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&ListOffsetsRequest::default(), v);
            round_trip(&ListOffsetsResponse::default(), v);
        }
        assert!(ListOffsetsRequest::default().to_bytes(7).is_err());
    }

    #[test]
    fn defaults_match_schema() {
        let p = ListOffsetsPartition::default();
        assert_eq!((p.current_leader_epoch, p.max_num_offsets), (-1, 1));
        let p = ListOffsetsPartitionResponse::default();
        assert_eq!((p.timestamp, p.offset, p.leader_epoch), (-1, -1, -1));
    }

    #[test]
    fn hand_checked_bytes() {
        let req = ListOffsetsRequest {
            replica_id: -1,
            topics: vec![ListOffsetsTopic {
                name: "t".into(),
                partitions: vec![ListOffsetsPartition { partition_index: 1, timestamp: LATEST_TIMESTAMP, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0xff, 0xff, 0xff, 0xff,  // replica -1
            0, 0, 0, 1, 0, 1, b't',  // topics: [t
            0, 0, 0, 1,              //   partitions: 1
            0, 0, 0, 1,              //     index
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // timestamp -1
            0, 0, 0, 1,              //     max num offsets 1
        ];
        assert_eq!(&round_trip(&req, 0)[..], v0);
        #[rustfmt::skip]
        let v6: &[u8] = &[
            0xff, 0xff, 0xff, 0xff,
            0,                       // isolation
            2, 2, b't', 2,
            0, 0, 0, 1,
            0xff, 0xff, 0xff, 0xff,  // current leader epoch -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0, 0, 0,                 // partition, topic, request tags
        ];
        assert_eq!(&round_trip(&req, 6)[..], v6);

        let resp = ListOffsetsResponse {
            topics: vec![ListOffsetsTopicResponse {
                name: "t".into(),
                partitions: vec![ListOffsetsPartitionResponse {
                    partition_index: 1,
                    old_style_offsets: vec![5],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1,
            0, 0, 0, 1,              // index
            0, 0,                    // error
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, // offsets [5]
        ];
        assert_eq!(&round_trip(&resp, 0)[..], v0);
    }

    #[test]
    fn truncated_input_errors_without_panicking() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    // ---- requests captured from real clients (tests/tools/capture_requests.py) ----

    fn check_capture(text: &str) -> (i16, ListOffsetsRequest) {
        let (h, m) = super::super::test_util::check_capture::<ListOffsetsRequest>(text);
        (h.api_version, m)
    }

    fn one_partition(m: &ListOffsetsRequest) -> &ListOffsetsPartition {
        assert_eq!(m.topics.len(), 1);
        assert_eq!(m.topics[0].name, "zk-capture");
        assert_eq!(m.topics[0].partitions.len(), 1);
        &m.topics[0].partitions[0]
    }

    #[test]
    fn captured_kcat_list_offsets_v2() {
        // kcat -C -o beginning
        let (v, m) = check_capture(include_str!("testdata/list_offsets_request_kcat.hex"));
        assert_eq!(v, 2);
        assert_eq!((m.replica_id, m.isolation_level), (-1, 1));
        let p = one_partition(&m);
        assert_eq!((p.partition_index, p.timestamp), (0, EARLIEST_TIMESTAMP));
    }

    #[test]
    fn captured_confluent_kafka_list_offsets_v6() {
        // assign at OFFSET_END
        let (v, m) = check_capture(include_str!("testdata/list_offsets_request_confluent_kafka.hex"));
        assert_eq!(v, 6);
        assert_eq!((m.replica_id, m.isolation_level), (-1, 1));
        let p = one_partition(&m);
        assert_eq!((p.partition_index, p.current_leader_epoch, p.timestamp), (0, 0, LATEST_TIMESTAMP));
    }

    #[test]
    fn captured_kafka_python_list_offsets_v6() {
        // seek_to_end
        let (v, m) = check_capture(include_str!("testdata/list_offsets_request_kafka_python.hex"));
        assert_eq!(v, 6);
        assert_eq!((m.replica_id, m.isolation_level), (-1, 0));
        let p = one_partition(&m);
        assert_eq!((p.partition_index, p.current_leader_epoch, p.timestamp), (0, -1, LATEST_TIMESTAMP));
    }
}
