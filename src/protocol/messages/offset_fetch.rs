//! OffsetFetch (key 9), versions 0-7 (flexible from v6): a group's committed
//! offsets for some partitions (or all of them when topics is null, v2+).
//! Maps to `OffsetFetchRequest.json` / `OffsetFetchResponse.json`.
//! Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::OffsetFetch;
const MIN: i16 = 0;
const MAX: i16 = 7;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetFetchRequest {
    pub group_id: String,
    /// Nullable from v2 (null = all partitions of the group).
    pub topics: Option<Vec<OffsetFetchRequestTopic>>,
    /// v7+
    pub require_stable: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetFetchRequestTopic {
    pub name: String,
    pub partition_indexes: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetFetchResponse {
    /// v3+
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetFetchResponseTopic>,
    /// v2+
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetFetchResponseTopic {
    pub name: String,
    pub partitions: Vec<OffsetFetchResponsePartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchResponsePartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// v5+; default -1
    pub committed_leader_epoch: i32,
    pub metadata: Option<String>,
    pub error_code: ErrorCode,
}

impl Default for OffsetFetchResponsePartition {
    fn default() -> Self {
        OffsetFetchResponsePartition {
            partition_index: 0,
            committed_offset: -1,
            committed_leader_epoch: -1,
            metadata: Some(String::new()),
            error_code: 0,
        }
    }
}

impl Message for OffsetFetchRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version < 2 && self.topics.is_none() {
            return Err(CodecError::UnexpectedNull("OffsetFetchRequest.topics (before v2)"));
        }
        w.string(flexible, &self.group_id);
        w.nullable_array(flexible, self.topics.as_deref(), |w, t| {
            w.string(flexible, &t.name);
            w.i32_array(flexible, &t.partition_indexes);
            if flexible {
                w.empty_tagged_fields();
            }
        });
        if version >= 7 {
            w.bool(self.require_stable);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = OffsetFetchRequest { group_id: r.string(flexible)?, ..Default::default() };
        m.topics = r.nullable_array(flexible, |r| {
            let t = OffsetFetchRequestTopic { name: r.string(flexible)?, partition_indexes: r.i32_array(flexible)? };
            r.tagged_fields_if(flexible)?;
            Ok(t)
        })?;
        if version < 2 && m.topics.is_none() {
            return Err(CodecError::UnexpectedNull("OffsetFetchRequest.topics (before v2)"));
        }
        if version >= 7 {
            m.require_stable = r.bool()?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for OffsetFetchResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 5 {
                    w.i32(p.committed_leader_epoch);
                }
                w.nullable_string(flexible, p.metadata.as_deref());
                w.i16(p.error_code);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if flexible {
                w.empty_tagged_fields();
            }
        });
        if version >= 2 {
            w.i16(self.error_code);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = OffsetFetchResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let mut p = OffsetFetchResponsePartition { partition_index: r.i32()?, committed_offset: r.i64()?, ..Default::default() };
                if version >= 5 {
                    p.committed_leader_epoch = r.i32()?;
                }
                p.metadata = r.nullable_string(flexible)?;
                p.error_code = r.i16()?;
                r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(OffsetFetchResponseTopic { name, partitions })
        })?;
        if version >= 2 {
            m.error_code = r.i16()?;
        }
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
            let req = OffsetFetchRequest {
                group_id: "g".into(),
                topics: Some(vec![OffsetFetchRequestTopic { name: "t".into(), partition_indexes: vec![0, 1] }]),
                require_stable: v >= 7,
                ..Default::default()
            };
            round_trip(&req, v);
            if v >= 2 {
                round_trip(&OffsetFetchRequest { group_id: "g".into(), topics: None, ..Default::default() }, v);
            } else {
                assert!(OffsetFetchRequest { topics: None, ..Default::default() }.to_bytes(v).is_err());
            }
            let resp = OffsetFetchResponse {
                throttle_time_ms: if v >= 3 { 1 } else { 0 },
                topics: vec![OffsetFetchResponseTopic {
                    name: "t".into(),
                    partitions: vec![
                        OffsetFetchResponsePartition {
                            partition_index: 0,
                            committed_offset: 10,
                            committed_leader_epoch: if v >= 5 { 2 } else { -1 },
                            metadata: None,
                            error_code: 0,
                        },
                        OffsetFetchResponsePartition { partition_index: 1, ..Default::default() },
                    ],
                }],
                error_code: if v >= 2 { 14 } else { 0 },
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = OffsetFetchRequest { group_id: "g".into(), topics: None, ..Default::default() };
        assert_eq!(&round_trip(&req, 2)[..], &[0, 1, b'g', 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&round_trip(&req, 7)[..], &[2, b'g', 0, 0, 0]);
        let resp = OffsetFetchResponse {
            topics: vec![OffsetFetchResponseTopic {
                name: "t".into(),
                partitions: vec![OffsetFetchResponsePartition { partition_index: 0, committed_offset: 3, ..Default::default() }],
            }],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&resp, 1)[..],
            &[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]
        );
    }
}
