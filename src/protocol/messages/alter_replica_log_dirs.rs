//! AlterReplicaLogDirs (key 34), versions 0-2 (flexible from v2): asks a
//! broker to move replicas to (or create them in) one of its log directories.
//! Maps to `AlterReplicaLogDirsRequest.json` / `AlterReplicaLogDirsResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::AlterReplicaLogDirs;
const MIN: i16 = 0;
const MAX: i16 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterReplicaLogDirsRequest {
    pub dirs: Vec<AlterReplicaLogDir>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterReplicaLogDir {
    /// The absolute directory path.
    pub path: String,
    pub topics: Vec<AlterReplicaLogDirTopic>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterReplicaLogDirTopic {
    pub name: String,
    pub partitions: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterReplicaLogDirsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<AlterReplicaLogDirTopicResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterReplicaLogDirTopicResult {
    pub topic_name: String,
    pub partitions: Vec<AlterReplicaLogDirPartitionResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterReplicaLogDirPartitionResult {
    pub partition_index: i32,
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

impl Message for AlterReplicaLogDirsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.dirs, |w, d| {
            w.string(flexible, &d.path);
            w.array(flexible, &d.topics, |w, t| {
                w.string(flexible, &t.name);
                w.i32_array(flexible, &t.partitions);
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
        let dirs = r.array(flexible, |r| {
            Ok(AlterReplicaLogDir {
                path: r.string(flexible)?,
                topics: r.array(flexible, |r| {
                    Ok(AlterReplicaLogDirTopic {
                        name: r.string(flexible)?,
                        partitions: r.i32_array(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(AlterReplicaLogDirsRequest { dirs, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

impl Message for AlterReplicaLogDirsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, t| {
            w.string(flexible, &t.topic_name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
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
        let throttle_time_ms = r.i32()?;
        let results = r.array(flexible, |r| {
            Ok(AlterReplicaLogDirTopicResult {
                topic_name: r.string(flexible)?,
                partitions: r.array(flexible, |r| {
                    Ok(AlterReplicaLogDirPartitionResult {
                        partition_index: r.i32()?,
                        error_code: r.i16()?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(AlterReplicaLogDirsResponse { throttle_time_ms, results, tagged_fields: r.tagged_fields_if(flexible)? })
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

    fn sample_request(v: i16) -> AlterReplicaLogDirsRequest {
        AlterReplicaLogDirsRequest {
            dirs: vec![
                AlterReplicaLogDir {
                    path: "/data/kafka-1".into(),
                    topics: vec![
                        AlterReplicaLogDirTopic { name: "t".into(), partitions: vec![0, 2], ..Default::default() },
                        AlterReplicaLogDirTopic { name: "u".into(), partitions: vec![], ..Default::default() },
                    ],
                    ..Default::default()
                },
                AlterReplicaLogDir { path: "/data/kafka-2".into(), ..Default::default() },
            ],
            tagged_fields: if v >= 2 { TaggedFields(vec![(0, Bytes::from_static(b"z"))]) } else { TaggedFields::default() },
        }
    }

    fn sample_response() -> AlterReplicaLogDirsResponse {
        AlterReplicaLogDirsResponse {
            throttle_time_ms: 0,
            results: vec![AlterReplicaLogDirTopicResult {
                topic_name: "t".into(),
                partitions: vec![
                    AlterReplicaLogDirPartitionResult { partition_index: 0, ..Default::default() },
                    AlterReplicaLogDirPartitionResult { partition_index: 2, error_code: error::LOG_DIR_NOT_FOUND, ..Default::default() },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(), v);
            round_trip(&AlterReplicaLogDirsRequest::default(), v);
            round_trip(&AlterReplicaLogDirsResponse::default(), v);
        }
        assert!(AlterReplicaLogDirsResponse::default().to_bytes(3).is_err());
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
        let req = AlterReplicaLogDirsRequest {
            dirs: vec![AlterReplicaLogDir {
                path: "/d".into(),
                topics: vec![AlterReplicaLogDirTopic { name: "t".into(), partitions: vec![1], ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[0, 0, 0, 1, 0, 2, b'/', b'd', 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 1];
        assert_eq!(&round_trip(&req, 0)[..], v0);
        assert_eq!(&round_trip(&req, 2)[..], &[2, 3, b'/', b'd', 2, 2, b't', 2, 0, 0, 0, 1, 0, 0, 0]);
        let resp = AlterReplicaLogDirsResponse {
            results: vec![AlterReplicaLogDirTopicResult {
                topic_name: "t".into(),
                partitions: vec![AlterReplicaLogDirPartitionResult { partition_index: 1, error_code: 57, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&resp, 1)[..], &[0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 1, 0, 57]);
    }
}
