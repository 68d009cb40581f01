//! StopReplica (key 5), versions 0-3: the controller tells a broker to stop
//! (and optionally delete) replicas. Maps to `StopReplicaRequest.json` /
//! `StopReplicaResponse.json`. v0: a global delete flag and a flat partition
//! list; v1-2: the flag plus partitions grouped by topic (v1 adds the broker
//! epoch, v2 is flexible); v3: per-partition leader epoch and delete flag.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::StopReplica;


/// v0 only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopReplicaPartitionV0 {
    pub topic_name: String,
    pub partition_index: i32,
}

/// v1-2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopReplicaTopicV1 {
    pub name: String,
    pub partition_indexes: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

/// v3+.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReplicaPartitionState {
    pub partition_index: i32,
    /// -1 unknown, -2 topic queued for deletion.
    pub leader_epoch: i32,
    pub delete_partition: bool,
    pub tagged_fields: TaggedFields,
}

impl Default for StopReplicaPartitionState {
    fn default() -> Self {
        StopReplicaPartitionState { partition_index: 0, leader_epoch: -1, delete_partition: false, tagged_fields: TaggedFields::default() }
    }
}

/// v3+.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopReplicaTopicState {
    pub topic_name: String,
    pub partition_states: Vec<StopReplicaPartitionState>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReplicaRequest {
    pub controller_id: i32,
    pub controller_epoch: i32,
    /// v1+ (default -1)
    pub broker_epoch: i64,
    /// v0-2
    pub delete_partitions: bool,
    /// v0
    pub ungrouped_partitions: Vec<StopReplicaPartitionV0>,
    /// v1-2
    pub topics: Vec<StopReplicaTopicV1>,
    /// v3+
    pub topic_states: Vec<StopReplicaTopicState>,
    pub tagged_fields: TaggedFields,
}

impl Default for StopReplicaRequest {
    fn default() -> Self {
        StopReplicaRequest {
            controller_id: -1,
            controller_epoch: -1,
            broker_epoch: -1,
            delete_partitions: false,
            ungrouped_partitions: Vec::new(),
            topics: Vec::new(),
            topic_states: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl StopReplicaRequest {
    /// Every partition as (topic, partition, leader epoch, delete), whichever
    /// layout the version used (older versions report epoch -1 and the global flag).
    pub fn partitions(&self) -> Vec<(String, i32, i32, bool)> {
        let mut out = Vec::new();
        for p in &self.ungrouped_partitions {
            out.push((p.topic_name.clone(), p.partition_index, -1, self.delete_partitions));
        }
        for t in &self.topics {
            for p in &t.partition_indexes {
                out.push((t.name.clone(), *p, -1, self.delete_partitions));
            }
        }
        for t in &self.topic_states {
            for p in &t.partition_states {
                out.push((t.topic_name.clone(), p.partition_index, p.leader_epoch, p.delete_partition));
            }
        }
        out
    }
}

impl Message for StopReplicaRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.controller_id);
        w.i32(self.controller_epoch);
        if version >= 1 {
            w.i64(self.broker_epoch);
        }
        if version <= 2 {
            w.bool(self.delete_partitions);
        }
        match version {
            0 => w.array(flexible, &self.ungrouped_partitions, |w, p| {
                w.string(flexible, &p.topic_name);
                w.i32(p.partition_index);
            }),
            1 | 2 => w.array(flexible, &self.topics, |w, t| {
                w.string(flexible, &t.name);
                w.i32_array(flexible, &t.partition_indexes);
                if flexible {
                    w.tagged_fields(&t.tagged_fields);
                }
            }),
            _ => w.array(flexible, &self.topic_states, |w, t| {
                w.string(flexible, &t.topic_name);
                w.array(flexible, &t.partition_states, |w, p| {
                    w.i32(p.partition_index);
                    w.i32(p.leader_epoch);
                    w.bool(p.delete_partition);
                    if flexible {
                        w.tagged_fields(&p.tagged_fields);
                    }
                });
                if flexible {
                    w.tagged_fields(&t.tagged_fields);
                }
            }),
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        let mut m = StopReplicaRequest { controller_id: r.i32()?, controller_epoch: r.i32()?, ..Default::default() };
        if version >= 1 {
            m.broker_epoch = r.i64()?;
        }
        if version <= 2 {
            m.delete_partitions = r.bool()?;
        }
        match version {
            0 => {
                m.ungrouped_partitions = r.array(flexible, |r| {
                    Ok(StopReplicaPartitionV0 { topic_name: r.string(flexible)?, partition_index: r.i32()? })
                })?
            }
            1 | 2 => {
                m.topics = r.array(flexible, |r| {
                    Ok(StopReplicaTopicV1 {
                        name: r.string(flexible)?,
                        partition_indexes: r.i32_array(flexible)?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?
            }
            _ => {
                m.topic_states = r.array(flexible, |r| {
                    Ok(StopReplicaTopicState {
                        topic_name: r.string(flexible)?,
                        partition_states: r.array(flexible, |r| {
                            Ok(StopReplicaPartitionState {
                                partition_index: r.i32()?,
                                leader_epoch: r.i32()?,
                                delete_partition: r.bool()?,
                                tagged_fields: r.tagged_fields_if(flexible)?,
                            })
                        })?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?
            }
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopReplicaPartitionError {
    pub topic_name: String,
    pub partition_index: i32,
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopReplicaResponse {
    pub error_code: ErrorCode,
    pub partition_errors: Vec<StopReplicaPartitionError>,
    pub tagged_fields: TaggedFields,
}

impl Message for StopReplicaResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        w.i16(self.error_code);
        w.array(flexible, &self.partition_errors, |w, e| {
            w.string(flexible, &e.topic_name);
            w.i32(e.partition_index);
            w.i16(e.error_code);
            if flexible {
                w.tagged_fields(&e.tagged_fields);
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        let error_code = r.i16()?;
        let partition_errors = r.array(flexible, |r| {
            Ok(StopReplicaPartitionError {
                topic_name: r.string(flexible)?,
                partition_index: r.i32()?,
                error_code: r.i16()?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(StopReplicaResponse { error_code, partition_errors, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip_every_version() {
        for v in 0..=3 {
            let mut req = StopReplicaRequest {
                controller_id: 1,
                controller_epoch: 4,
                broker_epoch: if v >= 1 { 99 } else { -1 },
                delete_partitions: v <= 2,
                ..Default::default()
            };
            match v {
                0 => {
                    req.ungrouped_partitions = vec![
                        StopReplicaPartitionV0 { topic_name: "a".into(), partition_index: 0 },
                        StopReplicaPartitionV0 { topic_name: "b".into(), partition_index: 3 },
                    ]
                }
                1 | 2 => {
                    req.topics = vec![StopReplicaTopicV1 {
                        name: "a".into(),
                        partition_indexes: vec![0, 1],
                        tagged_fields: TaggedFields::default(),
                    }]
                }
                _ => {
                    req.topic_states = vec![StopReplicaTopicState {
                        topic_name: "a".into(),
                        partition_states: vec![
                            StopReplicaPartitionState { partition_index: 0, leader_epoch: 5, delete_partition: true, ..Default::default() },
                            StopReplicaPartitionState { partition_index: 1, leader_epoch: -2, delete_partition: false, ..Default::default() },
                        ],
                        tagged_fields: TaggedFields::default(),
                    }]
                }
            }
            let back = StopReplicaRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap();
            assert_eq!(back, req, "v{v}");
            assert_eq!(back.partitions().len(), 2);
        }
    }

    #[test]
    fn response_round_trip_every_version() {
        for v in 0..=3 {
            let resp = StopReplicaResponse {
                error_code: 0,
                partition_errors: vec![StopReplicaPartitionError {
                    topic_name: "a".into(),
                    partition_index: 1,
                    error_code: 74,
                    tagged_fields: TaggedFields::default(),
                }],
                tagged_fields: TaggedFields::default(),
            };
            assert_eq!(StopReplicaResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp);
        }
    }
}
