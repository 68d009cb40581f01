//! UpdateMetadata (key 6), versions 0-7: the controller pushes live brokers and
//! partition states into every broker's metadata cache. Maps to
//! `UpdateMetadataRequest.json` / `UpdateMetadataResponse.json`. v0 carries one
//! host/port per broker, v1+ endpoint lists (v3+ with listener names), v2+ the
//! rack, v4+ offline replicas, v5+ the broker epoch and topic grouping, v6+ are
//! flexible, v7 adds topic ids.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::UpdateMetadata;


#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateMetadataPartitionState {
    /// On the wire only in v0-4; filled from the enclosing topic when decoding v5+.
    pub topic_name: String,
    pub partition_index: i32,
    pub controller_epoch: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub zk_version: i32,
    pub replicas: Vec<i32>,
    /// v4+
    pub offline_replicas: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

impl UpdateMetadataPartitionState {
    fn encode(&self, w: &mut Writer, version: i16, flexible: bool) {
        if version <= 4 {
            w.string(flexible, &self.topic_name);
        }
        w.i32(self.partition_index);
        w.i32(self.controller_epoch);
        w.i32(self.leader);
        w.i32(self.leader_epoch);
        w.i32_array(flexible, &self.isr);
        w.i32(self.zk_version);
        w.i32_array(flexible, &self.replicas);
        if version >= 4 {
            w.i32_array(flexible, &self.offline_replicas);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
    }

    fn decode(r: &mut Reader, version: i16, flexible: bool, topic: &str) -> Result<Self> {
        let topic_name = if version <= 4 { r.string(flexible)? } else { topic.to_string() };
        let mut s = UpdateMetadataPartitionState {
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
        if version >= 4 {
            s.offline_replicas = r.i32_array(flexible)?;
        }
        s.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(s)
    }
}

/// v5+: the partitions of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateMetadataTopicState {
    pub topic_name: String,
    /// v7+
    pub topic_id: [u8; 16],
    pub partition_states: Vec<UpdateMetadataPartitionState>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateMetadataEndpoint {
    pub port: i32,
    pub host: String,
    /// v3+
    pub listener: String,
    /// PLAINTEXT 0, SSL 1, SASL_PLAINTEXT 2, SASL_SSL 3.
    pub security_protocol: i16,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateMetadataBroker {
    pub id: i32,
    /// v0 only.
    pub v0_host: String,
    /// v0 only.
    pub v0_port: i32,
    /// v1+
    pub endpoints: Vec<UpdateMetadataEndpoint>,
    /// v2+
    pub rack: Option<String>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMetadataRequest {
    pub controller_id: i32,
    pub controller_epoch: i32,
    /// v5+ (default -1)
    pub broker_epoch: i64,
    /// v0-4 only.
    pub ungrouped_partition_states: Vec<UpdateMetadataPartitionState>,
    /// v5+ only.
    pub topic_states: Vec<UpdateMetadataTopicState>,
    pub live_brokers: Vec<UpdateMetadataBroker>,
    pub tagged_fields: TaggedFields,
}

impl Default for UpdateMetadataRequest {
    fn default() -> Self {
        UpdateMetadataRequest {
            controller_id: -1,
            controller_epoch: -1,
            broker_epoch: -1,
            ungrouped_partition_states: Vec::new(),
            topic_states: Vec::new(),
            live_brokers: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl UpdateMetadataRequest {
    /// Places `topics` (name, id, states) where `version` expects them.
    pub fn set_partition_states(
        &mut self,
        version: i16,
        topics: Vec<(String, [u8; 16], Vec<UpdateMetadataPartitionState>)>,
    ) {
        self.ungrouped_partition_states.clear();
        self.topic_states.clear();
        for (name, id, mut states) in topics {
            for s in &mut states {
                s.topic_name = name.clone();
            }
            if version <= 4 {
                self.ungrouped_partition_states.extend(states);
            } else {
                self.topic_states.push(UpdateMetadataTopicState {
                    topic_name: name,
                    topic_id: id,
                    partition_states: states,
                    tagged_fields: TaggedFields::default(),
                });
            }
        }
    }

    /// Every partition state, whichever layout the version used.
    pub fn partition_states(&self) -> impl Iterator<Item = &UpdateMetadataPartitionState> {
        self.ungrouped_partition_states
            .iter()
            .chain(self.topic_states.iter().flat_map(|t| t.partition_states.iter()))
    }
}

impl Message for UpdateMetadataRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 7)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.controller_id);
        w.i32(self.controller_epoch);
        if version >= 5 {
            w.i64(self.broker_epoch);
        }
        if version <= 4 {
            w.array(flexible, &self.ungrouped_partition_states, |w, s| s.encode(w, version, flexible));
        } else {
            w.array(flexible, &self.topic_states, |w, t| {
                w.string(flexible, &t.topic_name);
                if version >= 7 {
                    w.uuid(&t.topic_id);
                }
                w.array(flexible, &t.partition_states, |w, s| s.encode(w, version, flexible));
                if flexible {
                    w.tagged_fields(&t.tagged_fields);
                }
            });
        }
        w.array(flexible, &self.live_brokers, |w, b| {
            w.i32(b.id);
            if version == 0 {
                w.string(flexible, &b.v0_host);
                w.i32(b.v0_port);
            } else {
                w.array(flexible, &b.endpoints, |w, e| {
                    w.i32(e.port);
                    w.string(flexible, &e.host);
                    if version >= 3 {
                        w.string(flexible, &e.listener);
                    }
                    w.i16(e.security_protocol);
                    if flexible {
                        w.tagged_fields(&e.tagged_fields);
                    }
                });
            }
            if version >= 2 {
                w.nullable_string(flexible, b.rack.as_deref());
            }
            if flexible {
                w.tagged_fields(&b.tagged_fields);
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 7)?;
        let flexible = KEY.is_flexible(version);
        let mut m = UpdateMetadataRequest { controller_id: r.i32()?, controller_epoch: r.i32()?, ..Default::default() };
        if version >= 5 {
            m.broker_epoch = r.i64()?;
        }
        if version <= 4 {
            m.ungrouped_partition_states =
                r.array(flexible, |r| UpdateMetadataPartitionState::decode(r, version, flexible, ""))?;
        } else {
            m.topic_states = r.array(flexible, |r| {
                let topic_name = r.string(flexible)?;
                let topic_id = if version >= 7 { r.uuid()? } else { [0u8; 16] };
                let partition_states = r.array(flexible, |r| {
                    UpdateMetadataPartitionState::decode(r, version, flexible, &topic_name)
                })?;
                Ok(UpdateMetadataTopicState { topic_name, topic_id, partition_states, tagged_fields: r.tagged_fields_if(flexible)? })
            })?;
        }
        m.live_brokers = r.array(flexible, |r| {
            let mut b = UpdateMetadataBroker { id: r.i32()?, ..Default::default() };
            if version == 0 {
                b.v0_host = r.string(flexible)?;
                b.v0_port = r.i32()?;
            } else {
                b.endpoints = r.array(flexible, |r| {
                    Ok(UpdateMetadataEndpoint {
                        port: r.i32()?,
                        host: r.string(flexible)?,
                        listener: if version >= 3 { r.string(flexible)? } else { String::new() },
                        security_protocol: r.i16()?,
                        tagged_fields: r.tagged_fields_if(flexible)?,
                    })
                })?;
            }
            if version >= 2 {
                b.rack = r.nullable_string(flexible)?;
            }
            b.tagged_fields = r.tagged_fields_if(flexible)?;
            Ok(b)
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateMetadataResponse {
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

impl Message for UpdateMetadataResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 7)?;
        w.i16(self.error_code);
        if KEY.is_flexible(version) {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 7)?;
        let flexible = KEY.is_flexible(version);
        Ok(UpdateMetadataResponse { error_code: r.i16()?, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(v: i16, t: &str, p: i32) -> UpdateMetadataPartitionState {
        UpdateMetadataPartitionState {
            topic_name: t.into(),
            partition_index: p,
            controller_epoch: 5,
            leader: 2,
            leader_epoch: 1,
            isr: vec![2, 3],
            zk_version: 9,
            replicas: vec![2, 3, 4],
            offline_replicas: if v >= 4 { vec![4] } else { vec![] },
            tagged_fields: TaggedFields::default(),
        }
    }

    fn broker(v: i16, id: i32) -> UpdateMetadataBroker {
        UpdateMetadataBroker {
            id,
            v0_host: if v == 0 { "h".into() } else { String::new() },
            v0_port: if v == 0 { 9092 } else { 0 },
            endpoints: if v >= 1 {
                vec![
                    UpdateMetadataEndpoint {
                        port: 9092,
                        host: "h".into(),
                        listener: if v >= 3 { "PLAINTEXT".into() } else { String::new() },
                        security_protocol: 0,
                        tagged_fields: TaggedFields::default(),
                    },
                    UpdateMetadataEndpoint {
                        port: 9093,
                        host: "h".into(),
                        listener: if v >= 3 { "SSL".into() } else { String::new() },
                        security_protocol: 1,
                        tagged_fields: TaggedFields::default(),
                    },
                ]
            } else {
                vec![]
            },
            rack: if v >= 2 && id % 2 == 0 { Some("r1".into()) } else { None },
            tagged_fields: TaggedFields::default(),
        }
    }

    #[test]
    fn request_round_trip_every_version() {
        for v in 0..=7 {
            let mut req = UpdateMetadataRequest {
                controller_id: 1,
                controller_epoch: 5,
                broker_epoch: if v >= 5 { 77 } else { -1 },
                live_brokers: vec![broker(v, 1), broker(v, 2)],
                ..Default::default()
            };
            let id = if v >= 7 { [3u8; 16] } else { [0u8; 16] };
            req.set_partition_states(
                v,
                vec![("a".into(), id, vec![state(v, "a", 0), state(v, "a", 1)]), ("b".into(), id, vec![state(v, "b", 0)])],
            );
            let back = UpdateMetadataRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap();
            assert_eq!(back, req, "v{v}");
            assert_eq!(back.partition_states().count(), 3);
        }
    }

    #[test]
    fn response_round_trip_every_version() {
        for v in 0..=7 {
            let resp = UpdateMetadataResponse { error_code: 11, tagged_fields: TaggedFields::default() };
            assert_eq!(UpdateMetadataResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp);
        }
        assert_eq!(&UpdateMetadataResponse::default().to_bytes(7).unwrap()[..], &[0, 0, 0]);
        assert!(UpdateMetadataResponse::default().to_bytes(8).is_err());
    }
}
