//! ElectLeaders (key 43), versions 0-2 (flexible from v2): asks the controller
//! to elect the preferred (or, v1+, an unclean) leader of partitions (null =
//! every partition). Maps to `ElectLeadersRequest.json` /
//! `ElectLeadersResponse.json`: v1 adds the election type and the top-level
//! error code (KIP-460).

use crate::protocol::{check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::ElectLeaders;
const MIN: i16 = 0;
const MAX: i16 = 2;

/// `ElectionType` values (`org.apache.kafka.common.ElectionType`).
pub const ELECTION_PREFERRED: i8 = 0;
pub const ELECTION_UNCLEAN: i8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectLeadersRequest {
    /// v1+; v0 is always a preferred election (0)
    pub election_type: i8,
    /// Null = every partition.
    pub topic_partitions: Option<Vec<TopicPartitions>>,
    /// default 60000
    pub timeout_ms: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for ElectLeadersRequest {
    fn default() -> Self {
        ElectLeadersRequest {
            election_type: ELECTION_PREFERRED,
            topic_partitions: None,
            timeout_ms: 60_000,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPartitions {
    pub topic: String,
    pub partition_id: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElectLeadersResponse {
    pub throttle_time_ms: i32,
    /// v1+ (not ignorable: a non-zero code cannot be sent in v0)
    pub error_code: ErrorCode,
    pub replica_election_results: Vec<ReplicaElectionResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicaElectionResult {
    pub topic: String,
    pub partition_result: Vec<PartitionResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionResult {
    pub partition_id: i32,
    pub error_code: ErrorCode,
    /// null when there was no error
    pub error_message: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Message for ElectLeadersRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i8(self.election_type);
        } else if self.election_type != ELECTION_PREFERRED {
            return Err(CodecError::Invalid("ElectLeaders v0 can only ask for a preferred election".into()));
        }
        w.nullable_array(flexible, self.topic_partitions.as_deref(), |w, t| {
            w.string(flexible, &t.topic);
            w.i32_array(flexible, &t.partition_id);
            if flexible {
                w.tagged_fields(&t.tagged_fields);
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
        let election_type = if version >= 1 { r.i8()? } else { ELECTION_PREFERRED };
        let topic_partitions = r.nullable_array(flexible, |r| {
            Ok(TopicPartitions {
                topic: r.string(flexible)?,
                partition_id: r.i32_array(flexible)?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(ElectLeadersRequest {
            election_type,
            topic_partitions,
            timeout_ms: r.i32()?,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

impl Message for ElectLeadersResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        if version >= 1 {
            w.i16(self.error_code);
        } else if self.error_code != 0 {
            return Err(CodecError::Invalid("ElectLeaders v0 has no top-level error code".into()));
        }
        w.array(flexible, &self.replica_election_results, |w, t| {
            w.string(flexible, &t.topic);
            w.array(flexible, &t.partition_result, |w, p| {
                w.i32(p.partition_id);
                w.i16(p.error_code);
                w.nullable_string(flexible, p.error_message.as_deref());
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
        let error_code = if version >= 1 { r.i16()? } else { 0 };
        let replica_election_results = r.array(flexible, |r| {
            Ok(ReplicaElectionResult {
                topic: r.string(flexible)?,
                partition_result: r.array(flexible, |r| {
                    Ok(PartitionResult {
                        partition_id: r.i32()?,
                        error_code: r.i16()?,
                        error_message: r.nullable_string(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(ElectLeadersResponse {
            throttle_time_ms,
            error_code,
            replica_election_results,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
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

    fn sample_request(v: i16) -> ElectLeadersRequest {
        ElectLeadersRequest {
            election_type: if v >= 1 { ELECTION_UNCLEAN } else { ELECTION_PREFERRED },
            topic_partitions: Some(vec![
                TopicPartitions { topic: "t".into(), partition_id: vec![0, 1, 2], ..Default::default() },
                TopicPartitions { topic: "u".into(), partition_id: vec![], ..Default::default() },
            ]),
            timeout_ms: 10_000,
            ..Default::default()
        }
    }

    fn sample_response(v: i16) -> ElectLeadersResponse {
        ElectLeadersResponse {
            throttle_time_ms: 0,
            error_code: if v >= 1 { error::CLUSTER_AUTHORIZATION_FAILED } else { 0 },
            replica_election_results: vec![ReplicaElectionResult {
                topic: "t".into(),
                partition_result: vec![
                    PartitionResult { partition_id: 0, ..Default::default() },
                    PartitionResult {
                        partition_id: 1,
                        error_code: error::ELECTION_NOT_NEEDED,
                        error_message: Some("Leader election not needed for topic partition".into()),
                        ..Default::default()
                    },
                    PartitionResult { partition_id: 2, error_code: error::PREFERRED_LEADER_NOT_AVAILABLE, ..Default::default() },
                ],
                ..Default::default()
            }],
            tagged_fields: if v >= 2 { TaggedFields(vec![(0, Bytes::new())]) } else { TaggedFields::default() },
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&ElectLeadersRequest::default(), v);
            round_trip(&ElectLeadersResponse::default(), v);
        }
        assert!(ElectLeadersRequest::default().to_bytes(3).is_err());
    }

    #[test]
    fn every_prefix_fails() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    #[test]
    fn v0_cannot_carry_v1_fields() {
        assert!(sample_request(1).to_bytes(0).is_err());
        assert!(sample_response(1).to_bytes(0).is_err());
        assert_eq!(ElectLeadersRequest::default().timeout_ms, 60_000);
    }

    #[test]
    fn hand_checked_bytes() {
        // all partitions, preferred
        let all = ElectLeadersRequest { timeout_ms: 1, ..Default::default() };
        assert_eq!(&round_trip(&all, 0)[..], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
        assert_eq!(&round_trip(&all, 1)[..], &[0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
        assert_eq!(&round_trip(&all, 2)[..], &[0, 0, 0, 0, 0, 1, 0]);
        let resp = ElectLeadersResponse {
            replica_election_results: vec![ReplicaElectionResult {
                topic: "t".into(),
                partition_result: vec![PartitionResult { partition_id: 3, error_code: 84, error_message: None, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v2: &[u8] = &[0, 0, 0, 0, 0, 0, 2, 2, b't', 2, 0, 0, 0, 3, 0, 84, 0, 0, 0, 0];
        assert_eq!(&round_trip(&resp, 2)[..], v2);
    }
}
