//! DeleteRecords (key 21), versions 0-2 (flexible from v2): moves partitions'
//! log start offsets forward (Kafka's `AdminClient.deleteRecords`). Maps to
//! `DeleteRecordsRequest.json` / `DeleteRecordsResponse.json`. Nested tagged
//! fields are read and dropped; top-level ones are kept.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DeleteRecords;
const MIN: i16 = 0;
const MAX: i16 = 2;

/// The offset meaning "the high watermark" (Kafka's `DeleteRecordsRequest.HIGH_WATERMARK`).
pub const HIGH_WATERMARK: i64 = -1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRecordsRequest {
    pub topics: Vec<DeleteRecordsTopic>,
    pub timeout_ms: i32,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRecordsTopic {
    pub name: String,
    pub partitions: Vec<DeleteRecordsPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRecordsPartition {
    pub partition_index: i32,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRecordsResponse {
    pub throttle_time_ms: i32,
    pub topics: Vec<DeleteRecordsTopicResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRecordsTopicResult {
    pub name: String,
    pub partitions: Vec<DeleteRecordsPartitionResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRecordsPartitionResult {
    pub partition_index: i32,
    pub low_watermark: i64,
    pub error_code: ErrorCode,
}

impl Message for DeleteRecordsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.offset);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if flexible {
                w.empty_tagged_fields();
            }
        });
        w.i32(self.timeout_ms);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let p = DeleteRecordsPartition { partition_index: r.i32()?, offset: r.i64()? };
                r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(DeleteRecordsTopic { name, partitions })
        })?;
        let timeout_ms = r.i32()?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(DeleteRecordsRequest { topics, timeout_ms, tagged_fields })
    }
}

impl Message for DeleteRecordsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.low_watermark);
                w.i16(p.error_code);
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
        let topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let p = DeleteRecordsPartitionResult {
                    partition_index: r.i32()?,
                    low_watermark: r.i64()?,
                    error_code: r.i16()?,
                };
                r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(DeleteRecordsTopicResult { name, partitions })
        })?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(DeleteRecordsResponse { throttle_time_ms, topics, tagged_fields })
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

    fn request() -> DeleteRecordsRequest {
        DeleteRecordsRequest {
            topics: vec![
                DeleteRecordsTopic {
                    name: "t".into(),
                    partitions: vec![
                        DeleteRecordsPartition { partition_index: 0, offset: 10 },
                        DeleteRecordsPartition { partition_index: 3, offset: HIGH_WATERMARK },
                    ],
                },
                DeleteRecordsTopic { name: "u".into(), partitions: vec![] },
            ],
            timeout_ms: 30_000,
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&request(), v);
            let resp = DeleteRecordsResponse {
                throttle_time_ms: 5,
                topics: vec![DeleteRecordsTopicResult {
                    name: "t".into(),
                    partitions: vec![
                        DeleteRecordsPartitionResult { partition_index: 0, low_watermark: 10, error_code: 0 },
                        DeleteRecordsPartitionResult { partition_index: 1, low_watermark: -1, error_code: 1 },
                    ],
                }],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = DeleteRecordsRequest {
            topics: vec![DeleteRecordsTopic {
                name: "a".into(),
                partitions: vec![DeleteRecordsPartition { partition_index: 1, offset: 2 }],
            }],
            timeout_ms: 3,
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&req, 1)[..],
            &[0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3]
        );
        assert_eq!(
            &round_trip(&req, 2)[..],
            &[2, 2, b'a', 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0]
        );
        let resp = DeleteRecordsResponse {
            topics: vec![DeleteRecordsTopicResult {
                name: "a".into(),
                partitions: vec![DeleteRecordsPartitionResult { partition_index: 0, low_watermark: 7, error_code: 1 }],
            }],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&resp, 0)[..],
            &[0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1]
        );
    }

    #[test]
    fn truncated_input_is_an_error() {
        let b = request().to_bytes(2).unwrap();
        for cut in 0..b.len() {
            assert!(DeleteRecordsRequest::from_bytes(b.slice(..cut), 2).is_err(), "cut {cut}");
        }
    }
}
