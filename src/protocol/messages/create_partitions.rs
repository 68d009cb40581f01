//! CreatePartitions (key 37), versions 0-3 (flexible from v2): raises the
//! partition count of topics, optionally with the new partitions' replicas.
//! Maps to `CreatePartitionsRequest.json` / `CreatePartitionsResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::CreatePartitions;
const MIN: i16 = 0;
const MAX: i16 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatePartitionsRequest {
    pub topics: Vec<CreatePartitionsTopic>,
    pub timeout_ms: i32,
    pub validate_only: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatePartitionsTopic {
    pub name: String,
    /// The new partition count.
    pub count: i32,
    /// One entry per new partition; null = the broker assigns them.
    pub assignments: Option<Vec<CreatePartitionsAssignment>>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatePartitionsAssignment {
    pub broker_ids: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatePartitionsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<CreatePartitionsTopicResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatePartitionsTopicResult {
    pub name: String,
    pub error_code: ErrorCode,
    /// null when there was no error
    pub error_message: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Message for CreatePartitionsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.i32(t.count);
            w.nullable_array(flexible, t.assignments.as_deref(), |w, a| {
                w.i32_array(flexible, &a.broker_ids);
                if flexible {
                    w.tagged_fields(&a.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&t.tagged_fields);
            }
        });
        w.i32(self.timeout_ms);
        w.bool(self.validate_only);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let topics = r.array(flexible, |r| {
            Ok(CreatePartitionsTopic {
                name: r.string(flexible)?,
                count: r.i32()?,
                assignments: r.nullable_array(flexible, |r| {
                    Ok(CreatePartitionsAssignment {
                        broker_ids: r.i32_array(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(CreatePartitionsRequest {
            topics,
            timeout_ms: r.i32()?,
            validate_only: r.bool()?,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

impl Message for CreatePartitionsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, t| {
            w.string(flexible, &t.name);
            w.i16(t.error_code);
            w.nullable_string(flexible, t.error_message.as_deref());
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
            Ok(CreatePartitionsTopicResult {
                name: r.string(flexible)?,
                error_code: r.i16()?,
                error_message: r.nullable_string(flexible)?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(CreatePartitionsResponse { throttle_time_ms, results, tagged_fields: r.tagged_fields_if(flexible)? })
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

    fn sample_request(v: i16) -> CreatePartitionsRequest {
        let flex = v >= 2;
        CreatePartitionsRequest {
            topics: vec![
                CreatePartitionsTopic { name: "auto".into(), count: 6, assignments: None, ..Default::default() },
                CreatePartitionsTopic {
                    name: "manual".into(),
                    count: 3,
                    assignments: Some(vec![
                        CreatePartitionsAssignment { broker_ids: vec![1, 2], ..Default::default() },
                        CreatePartitionsAssignment {
                            broker_ids: vec![2, 3],
                            tagged_fields: if flex { TaggedFields(vec![(2, Bytes::from_static(b"t"))]) } else { TaggedFields::default() },
                        },
                    ]),
                    ..Default::default()
                },
            ],
            timeout_ms: 30_000,
            validate_only: true,
            ..Default::default()
        }
    }

    fn sample_response() -> CreatePartitionsResponse {
        CreatePartitionsResponse {
            throttle_time_ms: 1,
            results: vec![
                CreatePartitionsTopicResult { name: "auto".into(), ..Default::default() },
                CreatePartitionsTopicResult {
                    name: "manual".into(),
                    error_code: error::INVALID_PARTITIONS,
                    error_message: Some("Topic currently has 3 partitions, which is higher than the requested 2.".into()),
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
            round_trip(&CreatePartitionsRequest::default(), v);
            round_trip(&CreatePartitionsResponse::default(), v);
        }
        assert!(CreatePartitionsRequest::default().to_bytes(4).is_err());
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
        let req = CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic { name: "t".into(), count: 2, assignments: None, ..Default::default() }],
            timeout_ms: 1,
            validate_only: false,
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0];
        assert_eq!(&round_trip(&req, 0)[..], v0);
        assert_eq!(&round_trip(&req, 3)[..], &[2, 2, b't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0]);
    }
}
