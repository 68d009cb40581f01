//! ListPartitionReassignments (key 46), version 0 (flexible): the ongoing
//! partition reassignments with their replicas, adding and removing sets
//! (KIP-455). Maps to `ListPartitionReassignmentsRequest.json` /
//! `ListPartitionReassignmentsResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::ListPartitionReassignments;
const MIN: i16 = 0;
const MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPartitionReassignmentsRequest {
    /// default 60000
    pub timeout_ms: i32,
    /// Null = every ongoing reassignment.
    pub topics: Option<Vec<ListPartitionReassignmentsTopics>>,
    pub tagged_fields: TaggedFields,
}

impl Default for ListPartitionReassignmentsRequest {
    fn default() -> Self {
        ListPartitionReassignmentsRequest { timeout_ms: 60_000, topics: None, tagged_fields: TaggedFields::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPartitionReassignmentsTopics {
    pub name: String,
    pub partition_indexes: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPartitionReassignmentsResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// null when there was no error
    pub error_message: Option<String>,
    pub topics: Vec<OngoingTopicReassignment>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OngoingTopicReassignment {
    pub name: String,
    pub partitions: Vec<OngoingPartitionReassignment>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OngoingPartitionReassignment {
    pub partition_index: i32,
    /// The current replica set (RS).
    pub replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub removing_replicas: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

impl Message for ListPartitionReassignmentsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.timeout_ms);
        w.nullable_array(flexible, self.topics.as_deref(), |w, t| {
            w.string(flexible, &t.name);
            w.i32_array(flexible, &t.partition_indexes);
            w.tagged_fields(&t.tagged_fields);
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let timeout_ms = r.i32()?;
        let topics = r.nullable_array(flexible, |r| {
            Ok(ListPartitionReassignmentsTopics {
                name: r.string(flexible)?,
                partition_indexes: r.i32_array(flexible)?,
                tagged_fields: r.tagged_fields()?,
            })
        })?;
        Ok(ListPartitionReassignmentsRequest { timeout_ms, topics, tagged_fields: r.tagged_fields()? })
    }
}

impl Message for ListPartitionReassignmentsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(flexible, self.error_message.as_deref());
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i32_array(flexible, &p.replicas);
                w.i32_array(flexible, &p.adding_replicas);
                w.i32_array(flexible, &p.removing_replicas);
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
        let topics = r.array(flexible, |r| {
            Ok(OngoingTopicReassignment {
                name: r.string(flexible)?,
                partitions: r.array(flexible, |r| {
                    Ok(OngoingPartitionReassignment {
                        partition_index: r.i32()?,
                        replicas: r.i32_array(flexible)?,
                        adding_replicas: r.i32_array(flexible)?,
                        removing_replicas: r.i32_array(flexible)?,
                        tagged_fields: r.tagged_fields()?,
                    })
                })?,
                tagged_fields: r.tagged_fields()?,
            })
        })?;
        Ok(ListPartitionReassignmentsResponse {
            throttle_time_ms,
            error_code,
            error_message,
            topics,
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

    fn sample_request() -> ListPartitionReassignmentsRequest {
        ListPartitionReassignmentsRequest {
            timeout_ms: 5_000,
            topics: Some(vec![
                ListPartitionReassignmentsTopics { name: "t".into(), partition_indexes: vec![0, 3], ..Default::default() },
                ListPartitionReassignmentsTopics { name: "u".into(), ..Default::default() },
            ]),
            ..Default::default()
        }
    }

    fn sample_response() -> ListPartitionReassignmentsResponse {
        ListPartitionReassignmentsResponse {
            throttle_time_ms: 0,
            error_code: 0,
            error_message: None,
            topics: vec![OngoingTopicReassignment {
                name: "t".into(),
                partitions: vec![OngoingPartitionReassignment {
                    partition_index: 0,
                    replicas: vec![1, 2, 3, 4, 5, 6],
                    adding_replicas: vec![4, 5, 6],
                    removing_replicas: vec![1, 2, 3],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            tagged_fields: TaggedFields(vec![(2, Bytes::from_static(b"k"))]),
        }
    }

    #[test]
    fn round_trip_every_version() {
        round_trip(&sample_request(), 0);
        round_trip(&sample_response(), 0);
        round_trip(&ListPartitionReassignmentsRequest::default(), 0);
        round_trip(
            &ListPartitionReassignmentsResponse { error_code: error::NOT_CONTROLLER, ..Default::default() },
            0,
        );
        assert!(sample_response().to_bytes(1).is_err());
        assert_eq!(ListPartitionReassignmentsRequest::default().timeout_ms, 60_000);
    }

    #[test]
    fn every_prefix_fails() {
        super::super::test_util::assert_prefixes_fail(&sample_request(), 0);
        super::super::test_util::assert_prefixes_fail(&sample_response(), 0);
        super::super::test_util::assert_prefixes_fail(&ListPartitionReassignmentsRequest::default(), 0);
    }

    #[test]
    fn hand_checked_bytes() {
        // null topics = everything
        assert_eq!(&round_trip(&ListPartitionReassignmentsRequest { timeout_ms: 1, ..Default::default() }, 0)[..], &[0, 0, 0, 1, 0, 0]);
        let resp = ListPartitionReassignmentsResponse {
            topics: vec![OngoingTopicReassignment {
                name: "t".into(),
                partitions: vec![OngoingPartitionReassignment {
                    partition_index: 0,
                    replicas: vec![1],
                    adding_replicas: vec![],
                    removing_replicas: vec![],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 2, 2, b't', 2, 0, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0];
        assert_eq!(&round_trip(&resp, 0)[..], v0);
    }
}
