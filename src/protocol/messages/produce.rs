//! Produce (key 0), versions 0-9 (flexible from v9; the broker serves all):
//! record batches for a set of partitions, and the per-partition outcome.
//! Maps to `ProduceRequest.json` / `ProduceResponse.json`.
//!
//! `Records` is kept as an opaque `Option<Bytes>` sliced out of the request
//! frame (no copy); parsing the batches is the job of `protocol::records`.

use crate::protocol::{
    check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer,
};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::Produce;
const MIN: i16 = 0;
const MAX: i16 = 9;


#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceRequest {
    /// v3+; default null (not transactional)
    pub transactional_id: Option<String>,
    /// 0 = no ack, 1 = leader only, -1 = full ISR
    pub acks: i16,
    pub timeout_ms: i32,
    pub topic_data: Vec<ProduceRequestTopic>,
    pub tagged_fields: TaggedFields,
}

/// `TopicProduceData` in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceRequestTopic {
    pub name: String,
    pub partition_data: Vec<ProduceRequestPartition>,
    pub tagged_fields: TaggedFields,
}

/// `PartitionProduceData` in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceRequestPartition {
    pub index: i32,
    /// Raw record batches (nullable in every version), a zero-copy slice of the frame.
    pub records: Option<Bytes>,
    pub tagged_fields: TaggedFields,
}

impl Message for ProduceRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 3 {
            w.nullable_string(flexible, self.transactional_id.as_deref());
        }
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array(flexible, &self.topic_data, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partition_data, |w, p| {
                w.i32(p.index);
                w.records(flexible, p.records.as_deref());
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
        let mut m = ProduceRequest::default();
        if version >= 3 {
            m.transactional_id = r.nullable_string(flexible)?;
        }
        m.acks = r.i16()?;
        m.timeout_ms = r.i32()?;
        m.topic_data = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partition_data = r.array(flexible, |r| {
                Ok(ProduceRequestPartition {
                    index: r.i32()?,
                    records: r.records(flexible)?,
                    tagged_fields: r.tagged_fields_if(flexible)?,
                })
            })?;
            Ok(ProduceRequestTopic { name, partition_data, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceResponse {
    pub responses: Vec<ProduceResponseTopic>,
    /// v1+ (written after `responses`)
    pub throttle_time_ms: i32,
    pub tagged_fields: TaggedFields,
}

/// `TopicProduceResponse` in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceResponseTopic {
    pub name: String,
    pub partition_responses: Vec<ProduceResponsePartition>,
    pub tagged_fields: TaggedFields,
}

/// `PartitionProduceResponse` in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceResponsePartition {
    pub index: i32,
    pub error_code: ErrorCode,
    pub base_offset: i64,
    /// v2+; default -1 (CreateTime topics)
    pub log_append_time_ms: i64,
    /// v5+; default -1
    pub log_start_offset: i64,
    /// v8+
    pub record_errors: Vec<BatchIndexAndErrorMessage>,
    /// v8+; default null
    pub error_message: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Default for ProduceResponsePartition {
    fn default() -> Self {
        ProduceResponsePartition {
            index: 0,
            error_code: 0,
            base_offset: 0,
            log_append_time_ms: -1,
            log_start_offset: -1,
            record_errors: Vec::new(),
            error_message: None,
            tagged_fields: TaggedFields::default(),
        }
    }
}

/// v8+: a record that made its batch be rejected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchIndexAndErrorMessage {
    pub batch_index: i32,
    /// default null
    pub batch_index_error_message: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Message for ProduceResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.responses, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partition_responses, |w, p| {
                w.i32(p.index);
                w.i16(p.error_code);
                w.i64(p.base_offset);
                if version >= 2 {
                    w.i64(p.log_append_time_ms);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                if version >= 8 {
                    w.array(flexible, &p.record_errors, |w, e| {
                        w.i32(e.batch_index);
                        w.nullable_string(flexible, e.batch_index_error_message.as_deref());
                        if flexible {
                            w.tagged_fields(&e.tagged_fields);
                        }
                    });
                    w.nullable_string(flexible, p.error_message.as_deref());
                }
                if flexible {
                    w.tagged_fields(&p.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&t.tagged_fields);
            }
        });
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let responses = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partition_responses = r.array(flexible, |r| {
                let mut p = ProduceResponsePartition {
                    index: r.i32()?,
                    error_code: r.i16()?,
                    base_offset: r.i64()?,
                    ..Default::default()
                };
                if version >= 2 {
                    p.log_append_time_ms = r.i64()?;
                }
                if version >= 5 {
                    p.log_start_offset = r.i64()?;
                }
                if version >= 8 {
                    p.record_errors = r.array(flexible, |r| {
                        Ok(BatchIndexAndErrorMessage {
                            batch_index: r.i32()?,
                            batch_index_error_message: r.nullable_string(flexible)?,
                            tagged_fields: r.tagged_fields_if(flexible)?,
                        })
                    })?;
                    p.error_message = r.nullable_string(flexible)?;
                }
                p.tagged_fields = r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            Ok(ProduceResponseTopic { name, partition_responses, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        let mut m = ProduceResponse { responses, ..Default::default() };
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestHeader;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn sample_request(v: i16) -> ProduceRequest {
        ProduceRequest {
            transactional_id: if v >= 3 { Some("txn-1".into()) } else { None },
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![ProduceRequestTopic {
                name: "orders".into(),
                partition_data: vec![
                    ProduceRequestPartition {
                        index: 0,
                        records: Some(Bytes::from_static(b"\x00\x01batch-bytes")),
                        tagged_fields: TaggedFields::default(),
                    },
                    ProduceRequestPartition { index: 1, records: None, ..Default::default() },
                    ProduceRequestPartition { index: 2, records: Some(Bytes::new()), ..Default::default() },
                ],
                tagged_fields: if v >= 9 {
                    TaggedFields(vec![(7, Bytes::from_static(b"x"))])
                } else {
                    TaggedFields::default()
                },
            }],
            tagged_fields: TaggedFields::default(),
        }
    }

    fn sample_response(v: i16) -> ProduceResponse {
        let mut p = ProduceResponsePartition { index: 4, error_code: 0, base_offset: 1 << 40, ..Default::default() };
        if v >= 2 {
            p.log_append_time_ms = 1_700_000_000_000;
        }
        if v >= 5 {
            p.log_start_offset = 17;
        }
        if v >= 8 {
            p.record_errors = vec![
                BatchIndexAndErrorMessage { batch_index: 3, batch_index_error_message: Some("bad".into()), ..Default::default() },
                BatchIndexAndErrorMessage { batch_index: 5, ..Default::default() },
            ];
            p.error_message = Some("invalid record".into());
        }
        ProduceResponse {
            responses: vec![
                ProduceResponseTopic { name: "orders".into(), partition_responses: vec![p], ..Default::default() },
                ProduceResponseTopic { name: "empty".into(), ..Default::default() },
            ],
            throttle_time_ms: if v >= 1 { 250 } else { 0 },
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&ProduceRequest::default(), v);
            round_trip(&ProduceResponse::default(), v);
        }
        assert!(ProduceRequest::default().to_bytes(10).is_err());
        assert!(ProduceRequest::from_bytes(Bytes::new(), -1).is_err());
    }

    #[test]
    fn defaults_match_schema() {
        let p = ProduceResponsePartition::default();
        assert_eq!((p.log_append_time_ms, p.log_start_offset, p.error_message), (-1, -1, None));
        assert_eq!(ProduceRequest::default().transactional_id, None);
    }

    #[test]
    fn hand_checked_bytes() {
        let req = ProduceRequest {
            transactional_id: None,
            acks: 1,
            timeout_ms: 1000,
            topic_data: vec![ProduceRequestTopic {
                name: "t".into(),
                partition_data: vec![ProduceRequestPartition {
                    index: 2,
                    records: Some(Bytes::from_static(&[0xaa, 0xbb])),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v3: &[u8] = &[
            0xff, 0xff,              // transactional id null
            0, 1,                    // acks
            0, 0, 0x03, 0xe8,        // timeout 1000
            0, 0, 0, 1,              // topics: 1
            0, 1, b't',              //   name
            0, 0, 0, 1,              //   partitions: 1
            0, 0, 0, 2,              //     index
            0, 0, 0, 2, 0xaa, 0xbb,  //     records (int32 length)
        ];
        assert_eq!(&round_trip(&req, 3)[..], v3);
        #[rustfmt::skip]
        let v9: &[u8] = &[
            0,                       // transactional id null (compact)
            0, 1,
            0, 0, 0x03, 0xe8,
            2,                       // topics: 1
            2, b't',
            2,                       //   partitions: 1
            0, 0, 0, 2,
            3, 0xaa, 0xbb,           //     compact records
            0,                       //     partition tags
            0,                       //   topic tags
            0,                       // tags
        ];
        assert_eq!(&round_trip(&req, 9)[..], v9);

        let resp = ProduceResponse {
            responses: vec![ProduceResponseTopic {
                name: "t".into(),
                partition_responses: vec![ProduceResponsePartition {
                    index: 0,
                    error_code: 0,
                    base_offset: 5,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            throttle_time_ms: 0,
            ..Default::default()
        };
        #[rustfmt::skip]
        let v8: &[u8] = &[
            0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1,
            0, 0, 0, 0,              // index
            0, 0,                    // error
            0, 0, 0, 0, 0, 0, 0, 5,  // base offset
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log append time -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log start offset -1
            0, 0, 0, 0,              // record errors: 0
            0xff, 0xff,              // error message null
            0, 0, 0, 0,              // throttle
        ];
        assert_eq!(&round_trip(&resp, 8)[..], v8);
    }

    #[test]
    fn records_are_zero_copy_slices() {
        let frame = sample_request(7).to_bytes(7).unwrap();
        let m = ProduceRequest::from_bytes(frame.clone(), 7).unwrap();
        let rec = m.topic_data[0].partition_data[0].records.as_ref().unwrap();
        let (lo, hi) = (frame.as_ptr() as usize, frame.as_ptr() as usize + frame.len());
        assert!((lo..hi).contains(&(rec.as_ptr() as usize)), "records must point into the frame");
    }

    #[test]
    fn truncated_input_errors_without_panicking() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    // ---- requests captured from real clients (tests/tools/capture_requests.py) ----

    fn check_capture(text: &str) -> (RequestHeader, ProduceRequest) {
        super::super::test_util::check_capture::<ProduceRequest>(text)
    }

    /// One record batch (magic 2) holding one record whose value is "hello".
    fn assert_one_hello_batch(m: &ProduceRequest) {
        assert_eq!(m.topic_data.len(), 1);
        assert_eq!(m.topic_data[0].name, "zk-capture");
        let parts = &m.topic_data[0].partition_data;
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].index, 0);
        let rec = parts[0].records.as_ref().unwrap();
        // baseOffset(8) batchLength(4) leaderEpoch(4) magic(1)
        assert_eq!(rec.get(16), Some(&2u8), "magic v2");
        let batch_len = rec.get(8..12).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        assert_eq!(batch_len, Some(rec.len() as i32 - 12));
        assert!(rec.windows(5).any(|w| w == b"hello"));
    }

    #[test]
    fn captured_kcat_produce_v7() {
        let (h, m) = check_capture(include_str!("testdata/produce_request_kcat.hex"));
        assert_eq!((h.api_version, h.client_id.as_deref()), (7, Some("rdkafka")));
        assert_eq!((m.transactional_id.as_deref(), m.acks, m.timeout_ms), (None, -1, 30_000));
        assert_one_hello_batch(&m);
    }

    #[test]
    fn captured_confluent_kafka_produce_v9() {
        let (h, m) = check_capture(include_str!("testdata/produce_request_confluent_kafka.hex"));
        assert_eq!((h.api_version, h.client_id.as_deref()), (9, Some("zk-capture-ck")));
        assert_eq!((m.transactional_id.as_deref(), m.acks, m.timeout_ms), (None, -1, 30_000));
        assert_one_hello_batch(&m);
    }
}
