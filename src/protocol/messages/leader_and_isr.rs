//! LeaderAndIsr (key 4), versions 0-5: the controller tells a broker which
//! partitions it leads or follows. Maps to `LeaderAndIsrRequest.json` /
//! `LeaderAndIsrResponse.json`. v0-1 carry a flat partition list with the topic
//! name in every entry; v2+ group partitions by topic; v4+ are flexible; v5 adds
//! topic ids and the request `Type`, and the response groups errors by topic id.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::LeaderAndIsr;


/// One partition's leadership as decided by the controller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderAndIsrPartitionState {
    /// On the wire only in v0-1; filled from the enclosing topic when decoding v2+.
    pub topic_name: String,
    pub partition_index: i32,
    pub controller_epoch: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
    pub replicas: Vec<i32>,
    /// v3+
    pub adding_replicas: Vec<i32>,
    /// v3+
    pub removing_replicas: Vec<i32>,
    /// v1+
    pub is_new: bool,
    pub tagged_fields: TaggedFields,
}

impl LeaderAndIsrPartitionState {
    fn encode(&self, w: &mut Writer, version: i16, flexible: bool) {
        if version <= 1 {
            w.string(flexible, &self.topic_name);
        }
        w.i32(self.partition_index);
        w.i32(self.controller_epoch);
        w.i32(self.leader);
        w.i32(self.leader_epoch);
        w.i32_array(flexible, &self.isr);
        w.i32(self.zk_version);
        w.i32_array(flexible, &self.replicas);
        if version >= 3 {
            w.i32_array(flexible, &self.adding_replicas);
            w.i32_array(flexible, &self.removing_replicas);
        }
        if version >= 1 {
            w.bool(self.is_new);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
    }

    fn decode(r: &mut Reader, version: i16, flexible: bool, topic: &str) -> Result<Self> {
        let topic_name = if version <= 1 { r.string(flexible)? } else { topic.to_string() };
        let mut s = LeaderAndIsrPartitionState {
            topic_name,
            partition_index: r.i32()?,
            controller_epoch: r.i32()?,
            leader: r.i32()?,
            leader_epoch: r.i32()?,
            isr: r.i32_array(flexible)?,
            zk_version: r.i32()?,
            replicas: r.i32_array(flexible)?,
            ..Default::default()
        };
        if version >= 3 {
            s.adding_replicas = r.i32_array(flexible)?;
            s.removing_replicas = r.i32_array(flexible)?;
        }
        if version >= 1 {
            s.is_new = r.bool()?;
        }
        s.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(s)
    }
}

/// v2+: the partitions of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderAndIsrTopicState {
    pub topic_name: String,
    /// v5+
    pub topic_id: [u8; 16],
    pub partition_states: Vec<LeaderAndIsrPartitionState>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderAndIsrLiveLeader {
    pub broker_id: i32,
    pub host_name: String,
    pub port: i32,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrRequest {
    pub controller_id: i32,
    pub controller_epoch: i32,
    /// v2+ (default -1)
    pub broker_epoch: i64,
    /// v5+: 0 = incremental (the only value a 2.8 controller sends), 1 = full.
    pub request_type: i8,
    /// v0-1 only.
    pub ungrouped_partition_states: Vec<LeaderAndIsrPartitionState>,
    /// v2+ only.
    pub topic_states: Vec<LeaderAndIsrTopicState>,
    pub live_leaders: Vec<LeaderAndIsrLiveLeader>,
    pub tagged_fields: TaggedFields,
}

impl Default for LeaderAndIsrRequest {
    fn default() -> Self {
        LeaderAndIsrRequest {
            controller_id: -1,
            controller_epoch: -1,
            broker_epoch: -1,
            request_type: 0,
            ungrouped_partition_states: Vec::new(),
            topic_states: Vec::new(),
            live_leaders: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl LeaderAndIsrRequest {
    /// Places `topics` (name, id, states) where `version` expects them: flat for
    /// v0-1, grouped by topic for v2+.
    pub fn set_partition_states(
        &mut self,
        version: i16,
        topics: Vec<(String, [u8; 16], Vec<LeaderAndIsrPartitionState>)>,
    ) {
        self.ungrouped_partition_states.clear();
        self.topic_states.clear();
        for (name, id, mut states) in topics {
            for s in &mut states {
                s.topic_name = name.clone();
            }
            if version <= 1 {
                self.ungrouped_partition_states.extend(states);
            } else {
                self.topic_states.push(LeaderAndIsrTopicState {
                    topic_name: name,
                    topic_id: id,
                    partition_states: states,
                    tagged_fields: TaggedFields::default(),
                });
            }
        }
    }

    /// Every partition state, whichever layout the version used.
    pub fn partition_states(&self) -> impl Iterator<Item = &LeaderAndIsrPartitionState> {
        self.ungrouped_partition_states
            .iter()
            .chain(self.topic_states.iter().flat_map(|t| t.partition_states.iter()))
    }
}

impl Message for LeaderAndIsrRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 5)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.controller_id);
        w.i32(self.controller_epoch);
        if version >= 2 {
            w.i64(self.broker_epoch);
        }
        if version >= 5 {
            w.i8(self.request_type);
        }
        if version <= 1 {
            w.array(flexible, &self.ungrouped_partition_states, |w, s| s.encode(w, version, flexible));
        } else {
            w.array(flexible, &self.topic_states, |w, t| {
                w.string(flexible, &t.topic_name);
                if version >= 5 {
                    w.uuid(&t.topic_id);
                }
                w.array(flexible, &t.partition_states, |w, s| s.encode(w, version, flexible));
                if flexible {
                    w.tagged_fields(&t.tagged_fields);
                }
            });
        }
        w.array(flexible, &self.live_leaders, |w, l| {
            w.i32(l.broker_id);
            w.string(flexible, &l.host_name);
            w.i32(l.port);
            if flexible {
                w.tagged_fields(&l.tagged_fields);
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 5)?;
        let flexible = KEY.is_flexible(version);
        let mut m = LeaderAndIsrRequest { controller_id: r.i32()?, controller_epoch: r.i32()?, ..Default::default() };
        if version >= 2 {
            m.broker_epoch = r.i64()?;
        }
        if version >= 5 {
            m.request_type = r.i8()?;
        }
        if version <= 1 {
            m.ungrouped_partition_states =
                r.array(flexible, |r| LeaderAndIsrPartitionState::decode(r, version, flexible, ""))?;
        } else {
            m.topic_states = r.array(flexible, |r| {
                let topic_name = r.string(flexible)?;
                let topic_id = if version >= 5 { r.uuid()? } else { [0u8; 16] };
                let partition_states = r.array(flexible, |r| {
                    LeaderAndIsrPartitionState::decode(r, version, flexible, &topic_name)
                })?;
                Ok(LeaderAndIsrTopicState { topic_name, topic_id, partition_states, tagged_fields: r.tagged_fields_if(flexible)? })
            })?;
        }
        m.live_leaders = r.array(flexible, |r| {
            Ok(LeaderAndIsrLiveLeader {
                broker_id: r.i32()?,
                host_name: r.string(flexible)?,
                port: r.i32()?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderAndIsrPartitionError {
    /// v0-4 only.
    pub topic_name: String,
    pub partition_index: i32,
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

/// v5+: errors grouped by topic id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderAndIsrTopicError {
    pub topic_id: [u8; 16],
    pub partition_errors: Vec<LeaderAndIsrPartitionError>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderAndIsrResponse {
    pub error_code: ErrorCode,
    /// v0-4 only.
    pub partition_errors: Vec<LeaderAndIsrPartitionError>,
    /// v5+ only.
    pub topics: Vec<LeaderAndIsrTopicError>,
    pub tagged_fields: TaggedFields,
}

impl LeaderAndIsrResponse {
    /// Every partition error, whichever layout the version used.
    pub fn all_partition_errors(&self) -> impl Iterator<Item = &LeaderAndIsrPartitionError> {
        self.partition_errors.iter().chain(self.topics.iter().flat_map(|t| t.partition_errors.iter()))
    }
}

fn encode_partition_error(w: &mut Writer, e: &LeaderAndIsrPartitionError, version: i16, flexible: bool) {
    if version <= 4 {
        w.string(flexible, &e.topic_name);
    }
    w.i32(e.partition_index);
    w.i16(e.error_code);
    if flexible {
        w.tagged_fields(&e.tagged_fields);
    }
}

fn decode_partition_error(r: &mut Reader, version: i16, flexible: bool) -> Result<LeaderAndIsrPartitionError> {
    Ok(LeaderAndIsrPartitionError {
        topic_name: if version <= 4 { r.string(flexible)? } else { String::new() },
        partition_index: r.i32()?,
        error_code: r.i16()?,
        tagged_fields: r.tagged_fields_if(flexible)?,
    })
}

impl Message for LeaderAndIsrResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 5)?;
        let flexible = KEY.is_flexible(version);
        w.i16(self.error_code);
        if version <= 4 {
            w.array(flexible, &self.partition_errors, |w, e| encode_partition_error(w, e, version, flexible));
        } else {
            w.array(flexible, &self.topics, |w, t| {
                w.uuid(&t.topic_id);
                w.array(flexible, &t.partition_errors, |w, e| encode_partition_error(w, e, version, flexible));
                if flexible {
                    w.tagged_fields(&t.tagged_fields);
                }
            });
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 5)?;
        let flexible = KEY.is_flexible(version);
        let mut m = LeaderAndIsrResponse { error_code: r.i16()?, ..Default::default() };
        if version <= 4 {
            m.partition_errors = r.array(flexible, |r| decode_partition_error(r, version, flexible))?;
        } else {
            m.topics = r.array(flexible, |r| {
                Ok(LeaderAndIsrTopicError {
                    topic_id: r.uuid()?,
                    partition_errors: r.array(flexible, |r| decode_partition_error(r, version, flexible))?,
                    tagged_fields: r.tagged_fields_if(flexible)?,
                })
            })?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn state(version: i16, topic: &str, p: i32) -> LeaderAndIsrPartitionState {
        LeaderAndIsrPartitionState {
            topic_name: topic.into(),
            partition_index: p,
            controller_epoch: 3,
            leader: 1,
            leader_epoch: 7,
            isr: vec![1, 2],
            zk_version: 4,
            replicas: vec![1, 2, 3],
            adding_replicas: if version >= 3 { vec![3] } else { vec![] },
            removing_replicas: if version >= 3 { vec![4] } else { vec![] },
            is_new: version >= 1,
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn request_round_trip_every_version() {
        for v in 0..=5 {
            let mut req = LeaderAndIsrRequest {
                controller_id: 2,
                controller_epoch: 3,
                broker_epoch: if v >= 2 { 0x1_0000_0025 } else { -1 },
                request_type: 0,
                live_leaders: vec![LeaderAndIsrLiveLeader {
                    broker_id: 1,
                    host_name: "b1".into(),
                    port: 9092,
                    tagged_fields: TaggedFields::default(),
                }],
                ..Default::default()
            };
            let id = if v >= 5 { [7u8; 16] } else { [0u8; 16] };
            req.set_partition_states(
                v,
                vec![
                    ("foo".into(), id, vec![state(v, "foo", 0), state(v, "foo", 1)]),
                    ("bar".into(), id, vec![state(v, "bar", 0)]),
                ],
            );
            if v >= 4 {
                req.tagged_fields = TaggedFields(vec![(9, Bytes::from_static(b"x"))]);
            }
            let back = LeaderAndIsrRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap();
            assert_eq!(back, req, "v{v}");
            assert_eq!(back.partition_states().count(), 3);
            assert_eq!(v <= 1, !back.ungrouped_partition_states.is_empty());
        }
    }

    #[test]
    fn response_round_trip_every_version() {
        for v in 0..=5 {
            let err = LeaderAndIsrPartitionError {
                topic_name: if v <= 4 { "foo".into() } else { String::new() },
                partition_index: 1,
                error_code: 11,
                tagged_fields: TaggedFields::default(),
            };
            let resp = if v <= 4 {
                LeaderAndIsrResponse { error_code: 0, partition_errors: vec![err], ..Default::default() }
            } else {
                LeaderAndIsrResponse {
                    error_code: 0,
                    topics: vec![LeaderAndIsrTopicError {
                        topic_id: [1; 16],
                        partition_errors: vec![err],
                        tagged_fields: TaggedFields::default(),
                    }],
                    ..Default::default()
                }
            };
            let back = LeaderAndIsrResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap();
            assert_eq!(back, resp, "v{v}");
            assert_eq!(back.all_partition_errors().count(), 1);
        }
    }

    #[test]
    fn v0_layout_and_bad_versions() {
        let mut req = LeaderAndIsrRequest { controller_id: 1, controller_epoch: 2, ..Default::default() };
        req.set_partition_states(0, vec![("t".into(), [0; 16], vec![state(0, "t", 0)])]);
        let b = req.to_bytes(0).unwrap();
        // controller id, epoch, array len 1, then the topic name "t"
        assert_eq!(&b[..15], &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, b't']);
        assert!(req.to_bytes(6).is_err());
        assert!(LeaderAndIsrRequest::from_bytes(b.slice(..10), 0).is_err());
    }
}
