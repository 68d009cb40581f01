//! AlterPartitionReassignments (key 45), version 0 (flexible): starts, changes
//! or (with null replicas) cancels partition reassignments in the controller
//! (KIP-455). Maps to `AlterPartitionReassignmentsRequest.json` /
//! `AlterPartitionReassignmentsResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::AlterPartitionReassignments;
const MIN: i16 = 0;
const MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionReassignmentsRequest {
    /// default 60000
    pub timeout_ms: i32,
    pub topics: Vec<ReassignableTopic>,
    pub tagged_fields: TaggedFields,
}

impl Default for AlterPartitionReassignmentsRequest {
    fn default() -> Self {
        AlterPartitionReassignmentsRequest { timeout_ms: 60_000, topics: Vec::new(), tagged_fields: TaggedFields::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReassignableTopic {
    pub name: String,
    pub partitions: Vec<ReassignablePartition>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReassignablePartition {
    pub partition_index: i32,
    /// The target replicas; null cancels the partition's pending reassignment.
    pub replicas: Option<Vec<i32>>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterPartitionReassignmentsResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// null when there was no error
    pub error_message: Option<String>,
    pub responses: Vec<ReassignableTopicResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReassignableTopicResponse {
    pub name: String,
    pub partitions: Vec<ReassignablePartitionResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReassignablePartitionResponse {
    pub partition_index: i32,
    pub error_code: ErrorCode,
    /// null when there was no error
    pub error_message: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Message for AlterPartitionReassignmentsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.timeout_ms);
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.nullable_array(flexible, p.replicas.as_deref(), |w, b| w.i32(*b));
                w.tagged_fields(&p.tagged_fields);
            });
            w.tagged_fields(&t.tagged_fields);
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let timeout_ms = r.i32()?;
        let topics = r.array(flexible, |r| {
            Ok(ReassignableTopic {
                name: r.string(flexible)?,
                partitions: r.array(flexible, |r| {
                    Ok(ReassignablePartition {
                        partition_index: r.i32()?,
                        replicas: r.nullable_array(flexible, |r| r.i32())?,
                        tagged_fields: r.tagged_fields()?,
                    })
                })?,
                tagged_fields: r.tagged_fields()?,
            })
        })?;
        Ok(AlterPartitionReassignmentsRequest { timeout_ms, topics, tagged_fields: r.tagged_fields()? })
    }
}

impl Message for AlterPartitionReassignmentsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(flexible, self.error_message.as_deref());
        w.array(flexible, &self.responses, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
                w.nullable_string(flexible, p.error_message.as_deref());
                w.tagged_fields(&p.tagged_fields);
            });
            w.tagged_fields(&t.tagged_fields);
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let throttle_time_ms = r.i32()?;
        let error_code = r.i16()?;
        let error_message = r.nullable_string(flexible)?;
        let responses = r.array(flexible, |r| {
            Ok(ReassignableTopicResponse {
                name: r.string(flexible)?,
                partitions: r.array(flexible, |r| {
                    Ok(ReassignablePartitionResponse {
                        partition_index: r.i32()?,
                        error_code: r.i16()?,
                        error_message: r.nullable_string(flexible)?,
                        tagged_fields: r.tagged_fields()?,
                    })
                })?,
                tagged_fields: r.tagged_fields()?,
            })
        })?;
        Ok(AlterPartitionReassignmentsResponse {
            throttle_time_ms,
            error_code,
            error_message,
            responses,
            tagged_fields: r.tagged_fields()?,
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

    fn sample_request() -> AlterPartitionReassignmentsRequest {
        AlterPartitionReassignmentsRequest {
            timeout_ms: 30_000,
            topics: vec![ReassignableTopic {
                name: "t".into(),
                partitions: vec![
                    ReassignablePartition { partition_index: 0, replicas: Some(vec![4, 5, 6]), ..Default::default() },
                    ReassignablePartition { partition_index: 1, replicas: None, ..Default::default() },
                    ReassignablePartition { partition_index: 2, replicas: Some(vec![]), ..Default::default() },
                ],
                tagged_fields: TaggedFields(vec![(1, Bytes::from_static(b"a")), (7, Bytes::from_static(b"bc"))]),
            }],
            ..Default::default()
        }
    }

    fn sample_response() -> AlterPartitionReassignmentsResponse {
        AlterPartitionReassignmentsResponse {
            throttle_time_ms: 0,
            error_code: 0,
            error_message: None,
            responses: vec![ReassignableTopicResponse {
                name: "t".into(),
                partitions: vec![
                    ReassignablePartitionResponse { partition_index: 0, ..Default::default() },
                    ReassignablePartitionResponse {
                        partition_index: 1,
                        error_code: error::NO_REASSIGNMENT_IN_PROGRESS,
                        error_message: Some("no reassignment".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        round_trip(&sample_request(), 0);
        round_trip(&sample_response(), 0);
        round_trip(&AlterPartitionReassignmentsRequest::default(), 0);
        let not_controller = AlterPartitionReassignmentsResponse {
            error_code: error::NOT_CONTROLLER,
            error_message: Some("This is not the correct controller for this cluster.".into()),
            ..Default::default()
        };
        round_trip(&not_controller, 0);
        assert!(sample_request().to_bytes(1).is_err());
        assert!(AlterPartitionReassignmentsResponse::from_bytes(Bytes::new(), -1).is_err());
        assert_eq!(AlterPartitionReassignmentsRequest::default().timeout_ms, 60_000);
    }

    #[test]
    fn every_prefix_fails() {
        super::super::test_util::assert_prefixes_fail(&sample_request(), 0);
        super::super::test_util::assert_prefixes_fail(&sample_response(), 0);
    }

    #[test]
    fn hand_checked_bytes() {
        let req = AlterPartitionReassignmentsRequest {
            timeout_ms: 1,
            topics: vec![ReassignableTopic {
                name: "t".into(),
                partitions: vec![
                    ReassignablePartition { partition_index: 0, replicas: Some(vec![2]), ..Default::default() },
                    ReassignablePartition { partition_index: 1, replicas: None, ..Default::default() },
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0, 0, 0, 1,                   // timeout
            2, 2, b't',                   // topics: [t
            3, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, //   [0, [2], tags
            0, 0, 0, 1, 0, 0,             //    1, null (cancel), tags]
            0, 0,                         // topic tags, message tags
        ];
        assert_eq!(&round_trip(&req, 0)[..], v0);
    }
}
