//! OffsetCommit (key 8), versions 0-8 (flexible from v8): a consumer stores
//! its positions in the group coordinator. v1 carries a per-partition commit
//! timestamp, v2-4 a retention time, v6+ the leader epoch, v7+ the instance id.
//! Maps to `OffsetCommitRequest.json` / `OffsetCommitResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::OffsetCommit;
const MIN: i16 = 0;
const MAX: i16 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    /// v1+; default -1
    pub generation_id: i32,
    /// v1+
    pub member_id: String,
    /// v7+; nullable
    pub group_instance_id: Option<String>,
    /// v2-4; default -1
    pub retention_time_ms: i64,
    pub topics: Vec<OffsetCommitRequestTopic>,
    pub tagged_fields: TaggedFields,
}

impl Default for OffsetCommitRequest {
    fn default() -> Self {
        OffsetCommitRequest {
            group_id: String::new(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            retention_time_ms: -1,
            topics: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetCommitRequestTopic {
    pub name: String,
    pub partitions: Vec<OffsetCommitRequestPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequestPartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// v6+; default -1
    pub committed_leader_epoch: i32,
    /// v1 only; default -1
    pub commit_timestamp: i64,
    pub committed_metadata: Option<String>,
}

impl Default for OffsetCommitRequestPartition {
    fn default() -> Self {
        OffsetCommitRequestPartition {
            partition_index: 0,
            committed_offset: 0,
            committed_leader_epoch: -1,
            commit_timestamp: -1,
            committed_metadata: Some(String::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetCommitResponse {
    /// v3+
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetCommitResponseTopic>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetCommitResponseTopic {
    pub name: String,
    /// (partition index, error code)
    pub partitions: Vec<(i32, ErrorCode)>,
}

impl Message for OffsetCommitRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.group_id);
        if version >= 1 {
            w.i32(self.generation_id);
            w.string(flexible, &self.member_id);
        }
        if version >= 7 {
            w.nullable_string(flexible, self.group_instance_id.as_deref());
        }
        if (2..=4).contains(&version) {
            w.i64(self.retention_time_ms);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 6 {
                    w.i32(p.committed_leader_epoch);
                }
                if version == 1 {
                    w.i64(p.commit_timestamp);
                }
                w.nullable_string(flexible, p.committed_metadata.as_deref());
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if flexible {
                w.empty_tagged_fields();
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
        let mut m = OffsetCommitRequest { group_id: r.string(flexible)?, ..Default::default() };
        if version >= 1 {
            m.generation_id = r.i32()?;
            m.member_id = r.string(flexible)?;
        }
        if version >= 7 {
            m.group_instance_id = r.nullable_string(flexible)?;
        }
        if (2..=4).contains(&version) {
            m.retention_time_ms = r.i64()?;
        }
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let mut p = OffsetCommitRequestPartition { partition_index: r.i32()?, committed_offset: r.i64()?, ..Default::default() };
                if version >= 6 {
                    p.committed_leader_epoch = r.i32()?;
                }
                if version == 1 {
                    p.commit_timestamp = r.i64()?;
                }
                p.committed_metadata = r.nullable_string(flexible)?;
                r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(OffsetCommitRequestTopic { name, partitions })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for OffsetCommitResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, (p, e)| {
                w.i32(*p);
                w.i16(*e);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if flexible {
                w.empty_tagged_fields();
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
        let mut m = OffsetCommitResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let pe = (r.i32()?, r.i16()?);
                r.tagged_fields_if(flexible)?;
                Ok(pe)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(OffsetCommitResponseTopic { name, partitions })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let mut req = OffsetCommitRequest { group_id: "g".into(), ..Default::default() };
            if v >= 1 {
                req.generation_id = 3;
                req.member_id = "m".into();
            }
            if v >= 7 {
                req.group_instance_id = Some("i".into());
            }
            if (2..=4).contains(&v) {
                req.retention_time_ms = 60000;
            }
            req.topics = vec![OffsetCommitRequestTopic {
                name: "t".into(),
                partitions: vec![
                    OffsetCommitRequestPartition {
                        partition_index: 1,
                        committed_offset: 42,
                        committed_leader_epoch: if v >= 6 { 5 } else { -1 },
                        commit_timestamp: if v == 1 { 1000 } else { -1 },
                        committed_metadata: None,
                    },
                    OffsetCommitRequestPartition { partition_index: 2, committed_offset: 7, ..Default::default() },
                ],
            }];
            round_trip(&req, v);
            let resp = OffsetCommitResponse {
                throttle_time_ms: if v >= 3 { 1 } else { 0 },
                topics: vec![OffsetCommitResponseTopic { name: "t".into(), partitions: vec![(1, 0), (2, 25)] }],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = OffsetCommitRequest {
            group_id: "g".into(),
            generation_id: 1,
            member_id: "m".into(),
            topics: vec![OffsetCommitRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetCommitRequestPartition { partition_index: 0, committed_offset: 5, ..Default::default() }],
            }],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&req, 8)[..],
            &[2, b'g', 0, 0, 0, 1, 2, b'm', 0, 2, 2, b't', 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]
        );
        assert_eq!(
            &round_trip(&req, 2)[..],
            &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1,
              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0]
        );
    }
}
