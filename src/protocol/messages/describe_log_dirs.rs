//! DescribeLogDirs (key 35), versions 0-2 (flexible from v2): a broker's log
//! directories and, in each, the size, offset lag and future flag of every
//! replica asked for (null topics = all). Maps to `DescribeLogDirsRequest.json` /
//! `DescribeLogDirsResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeLogDirs;
const MIN: i16 = 0;
const MAX: i16 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeLogDirsRequest {
    /// Null = every topic.
    pub topics: Option<Vec<DescribableLogDirTopic>>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribableLogDirTopic {
    pub topic: String,
    /// The partition indexes (the schema's `PartitionIndex`, an array).
    pub partition_index: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeLogDirsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<DescribeLogDirsResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeLogDirsResult {
    pub error_code: ErrorCode,
    /// The absolute log directory path.
    pub log_dir: String,
    pub topics: Vec<DescribeLogDirsTopic>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeLogDirsTopic {
    pub name: String,
    pub partitions: Vec<DescribeLogDirsPartition>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeLogDirsPartition {
    pub partition_index: i32,
    /// Bytes of the log's segments.
    pub partition_size: i64,
    /// Current log: LEO behind the high watermark; future log: LEO behind the
    /// current replica's LEO.
    pub offset_lag: i64,
    /// True for a future log created by AlterReplicaLogDirs.
    pub is_future_key: bool,
    pub tagged_fields: TaggedFields,
}

impl Message for DescribeLogDirsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.nullable_array(flexible, self.topics.as_deref(), |w, t| {
            w.string(flexible, &t.topic);
            w.i32_array(flexible, &t.partition_index);
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
        let topics = r.nullable_array(flexible, |r| {
            Ok(DescribableLogDirTopic {
                topic: r.string(flexible)?,
                partition_index: r.i32_array(flexible)?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(DescribeLogDirsRequest { topics, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

impl Message for DescribeLogDirsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, d| {
            w.i16(d.error_code);
            w.string(flexible, &d.log_dir);
            w.array(flexible, &d.topics, |w, t| {
                w.string(flexible, &t.name);
                w.array(flexible, &t.partitions, |w, p| {
                    w.i32(p.partition_index);
                    w.i64(p.partition_size);
                    w.i64(p.offset_lag);
                    w.bool(p.is_future_key);
                    if flexible {
                        w.tagged_fields(&p.tagged_fields);
                    }
                });
                if flexible {
                    w.tagged_fields(&t.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&d.tagged_fields);
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
        let results = r.array(flexible, |r| {
            Ok(DescribeLogDirsResult {
                error_code: r.i16()?,
                log_dir: r.string(flexible)?,
                topics: r.array(flexible, |r| {
                    Ok(DescribeLogDirsTopic {
                        name: r.string(flexible)?,
                        partitions: r.array(flexible, |r| {
                            Ok(DescribeLogDirsPartition {
                                partition_index: r.i32()?,
                                partition_size: r.i64()?,
                                offset_lag: r.i64()?,
                                is_future_key: r.bool()?,
                                tagged_fields: r.tagged_fields_if(flexible)?,
                            })
                        })?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(DescribeLogDirsResponse { throttle_time_ms, results, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn sample_request() -> DescribeLogDirsRequest {
        DescribeLogDirsRequest {
            topics: Some(vec![
                DescribableLogDirTopic { topic: "t".into(), partition_index: vec![0, 1], ..Default::default() },
                DescribableLogDirTopic { topic: "u".into(), ..Default::default() },
            ]),
            ..Default::default()
        }
    }

    fn sample_response(v: i16) -> DescribeLogDirsResponse {
        DescribeLogDirsResponse {
            throttle_time_ms: 0,
            results: vec![
                DescribeLogDirsResult {
                    error_code: 0,
                    log_dir: "/data/a".into(),
                    topics: vec![DescribeLogDirsTopic {
                        name: "t".into(),
                        partitions: vec![
                            DescribeLogDirsPartition { partition_index: 0, partition_size: 1 << 40, offset_lag: 0, ..Default::default() },
                            DescribeLogDirsPartition { partition_index: 1, partition_size: 77, offset_lag: 12, is_future_key: true, ..Default::default() },
                        ],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                DescribeLogDirsResult { error_code: error::KAFKA_STORAGE_ERROR, log_dir: "/data/b".into(), ..Default::default() },
            ],
            tagged_fields: if v >= 2 { TaggedFields(vec![(9, Bytes::from_static(b"q"))]) } else { TaggedFields::default() },
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(), v);
            round_trip(&DescribeLogDirsRequest { topics: Some(vec![]), ..Default::default() }, v);
            round_trip(&sample_response(v), v);
            round_trip(&DescribeLogDirsRequest::default(), v);
            round_trip(&DescribeLogDirsResponse::default(), v);
        }
        assert!(DescribeLogDirsRequest::default().to_bytes(3).is_err());
    }

    #[test]
    fn every_prefix_fails() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        // null topics = all
        let all = DescribeLogDirsRequest::default();
        assert_eq!(&round_trip(&all, 0)[..], &[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&round_trip(&all, 2)[..], &[0, 0]);
        let resp = DescribeLogDirsResponse {
            results: vec![DescribeLogDirsResult {
                log_dir: "/d".into(),
                topics: vec![DescribeLogDirsTopic {
                    name: "t".into(),
                    partitions: vec![DescribeLogDirsPartition { partition_index: 0, partition_size: 5, offset_lag: 1, is_future_key: true, ..Default::default() }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v2: &[u8] = &[
            0, 0, 0, 0,          // throttle
            2, 0, 0, 3, b'/', b'd', // results: [error 0, "/d"
            2, 2, b't',          //   topics: [t
            2, 0, 0, 0, 0,       //     partitions: [0
            0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, // size, lag, future, tags]
            0, 0, 0,             // topic tags, result tags, message tags
        ];
        assert_eq!(&round_trip(&resp, 2)[..], v2);
    }
}
