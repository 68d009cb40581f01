//! OffsetForLeaderEpoch (key 23), versions 0-4 (flexible from v4): a follower
//! (or a consumer checking for truncation) asks a leader where a given leader
//! epoch ends in its log. Maps to `OffsetForLeaderEpochRequest.json` /
//! `OffsetForLeaderEpochResponse.json`.
//! v1 adds the epoch of the returned end offset (KIP-279), v2 the requester's
//! current leader epoch for fencing (KIP-320) and the throttle time, v3 the
//! requester's replica id.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::OffsetForLeaderEpoch;
const MIN: i16 = 0;
const MAX: i16 = 4;

/// Replica id of a consumer; -2 is the "debugging" consumer.
pub const CONSUMER_REPLICA_ID: i32 = -1;
pub const DEBUGGING_REPLICA_ID: i32 = -2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetForLeaderEpochRequest {
    /// v3+: the requesting broker's id, -1 for a consumer, -2 for debugging.
    /// Before v3 the request came from a follower (Kafka reads it as -2).
    pub replica_id: i32,
    pub topics: Vec<OffsetForLeaderTopic>,
    pub tagged_fields: TaggedFields,
}

impl Default for OffsetForLeaderEpochRequest {
    fn default() -> Self {
        OffsetForLeaderEpochRequest { replica_id: DEBUGGING_REPLICA_ID, topics: Vec::new(), tagged_fields: TaggedFields::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetForLeaderTopic {
    pub topic: String,
    pub partitions: Vec<OffsetForLeaderPartition>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetForLeaderPartition {
    pub partition: i32,
    /// v2+; default -1 (no fencing).
    pub current_leader_epoch: i32,
    /// The epoch whose end offset is wanted.
    pub leader_epoch: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for OffsetForLeaderPartition {
    fn default() -> Self {
        OffsetForLeaderPartition { partition: 0, current_leader_epoch: -1, leader_epoch: 0, tagged_fields: TaggedFields::default() }
    }
}

impl Message for OffsetForLeaderEpochRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 3 {
            w.i32(self.replica_id);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.topic);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition);
                if version >= 2 {
                    w.i32(p.current_leader_epoch);
                }
                w.i32(p.leader_epoch);
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
        let replica_id = if version >= 3 { r.i32()? } else { DEBUGGING_REPLICA_ID };
        let topics = r.array(flexible, |r| {
            let topic = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let partition = r.i32()?;
                let current_leader_epoch = if version >= 2 { r.i32()? } else { -1 };
                let leader_epoch = r.i32()?;
                Ok(OffsetForLeaderPartition {
                    partition,
                    current_leader_epoch,
                    leader_epoch,
                    tagged_fields: r.tagged_fields_if(flexible)?,
                })
            })?;
            Ok(OffsetForLeaderTopic { topic, partitions, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        Ok(OffsetForLeaderEpochRequest { replica_id, topics, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetForLeaderEpochResponse {
    /// v2+
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetForLeaderTopicResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetForLeaderTopicResult {
    pub topic: String,
    pub partitions: Vec<EpochEndOffset>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochEndOffset {
    pub error_code: ErrorCode,
    pub partition: i32,
    /// v1+; default -1.
    pub leader_epoch: i32,
    /// default -1.
    pub end_offset: i64,
    pub tagged_fields: TaggedFields,
}

impl Default for EpochEndOffset {
    fn default() -> Self {
        EpochEndOffset { error_code: 0, partition: 0, leader_epoch: -1, end_offset: -1, tagged_fields: TaggedFields::default() }
    }
}

impl Message for OffsetForLeaderEpochResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.topic);
            w.array(flexible, &t.partitions, |w, p| {
                w.i16(p.error_code);
                w.i32(p.partition);
                if version >= 1 {
                    w.i32(p.leader_epoch);
                }
                w.i64(p.end_offset);
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
        let throttle_time_ms = if version >= 2 { r.i32()? } else { 0 };
        let topics = r.array(flexible, |r| {
            let topic = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let error_code = r.i16()?;
                let partition = r.i32()?;
                let leader_epoch = if version >= 1 { r.i32()? } else { -1 };
                let end_offset = r.i64()?;
                Ok(EpochEndOffset { error_code, partition, leader_epoch, end_offset, tagged_fields: r.tagged_fields_if(flexible)? })
            })?;
            Ok(OffsetForLeaderTopicResult { topic, partitions, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        Ok(OffsetForLeaderEpochResponse { throttle_time_ms, topics, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: i16) -> OffsetForLeaderEpochRequest {
        OffsetForLeaderEpochRequest {
            replica_id: if v >= 3 { 2 } else { DEBUGGING_REPLICA_ID },
            topics: vec![OffsetForLeaderTopic {
                topic: "orders".into(),
                partitions: vec![
                    OffsetForLeaderPartition {
                        partition: 0,
                        current_leader_epoch: if v >= 2 { 7 } else { -1 },
                        leader_epoch: 5,
                        tagged_fields: TaggedFields::default(),
                    },
                    OffsetForLeaderPartition { partition: 3, leader_epoch: 0, ..Default::default() },
                ],
                tagged_fields: TaggedFields::default(),
            }],
            tagged_fields: TaggedFields::default(),
        }
    }

    fn response(v: i16) -> OffsetForLeaderEpochResponse {
        OffsetForLeaderEpochResponse {
            throttle_time_ms: if v >= 2 { 12 } else { 0 },
            topics: vec![OffsetForLeaderTopicResult {
                topic: "orders".into(),
                partitions: vec![
                    EpochEndOffset {
                        error_code: 0,
                        partition: 0,
                        leader_epoch: if v >= 1 { 4 } else { -1 },
                        end_offset: 1234,
                        tagged_fields: TaggedFields::default(),
                    },
                    EpochEndOffset { error_code: 74, partition: 3, ..Default::default() },
                ],
                tagged_fields: TaggedFields::default(),
            }],
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = request(v);
            assert_eq!(OffsetForLeaderEpochRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap(), req, "request v{v}");
            let resp = response(v);
            assert_eq!(OffsetForLeaderEpochResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp, "response v{v}");
        }
        assert!(request(0).to_bytes(5).is_err());
    }

    #[test]
    fn wire_layout() {
        // v0 request: topics array(1) + "t" + partitions array(1) + partition + epoch.
        let r = OffsetForLeaderEpochRequest {
            topics: vec![OffsetForLeaderTopic {
                topic: "t".into(),
                partitions: vec![OffsetForLeaderPartition { partition: 1, leader_epoch: 2, ..Default::default() }],
                tagged_fields: TaggedFields::default(),
            }],
            ..Default::default()
        };
        assert_eq!(
            &r.to_bytes(0).unwrap()[..],
            &[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2][..]
        );
        // v4 (flexible): replica id, compact arrays/strings, tagged fields.
        let r4 = OffsetForLeaderEpochRequest { replica_id: 1, ..r.clone() };
        let b = r4.to_bytes(4).unwrap();
        assert_eq!(&b[..], &[0, 0, 0, 1, 2, 2, b't', 2, 0, 0, 0, 1, 255, 255, 255, 255, 0, 0, 0, 2, 0, 0, 0][..]);
        // v0 response: array(1) "t" array(1) error, partition, end offset.
        let resp = OffsetForLeaderEpochResponse {
            topics: vec![OffsetForLeaderTopicResult {
                topic: "t".into(),
                partitions: vec![EpochEndOffset { partition: 1, end_offset: 9, ..Default::default() }],
                tagged_fields: TaggedFields::default(),
            }],
            ..Default::default()
        };
        assert_eq!(resp.to_bytes(0).unwrap().len(), 4 + 3 + 4 + 2 + 4 + 8);
    }
}
