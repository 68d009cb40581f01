//! TxnOffsetCommit (key 28), versions 0-3 (flexible from v3; v2 adds the
//! committed leader epoch, v3 the KIP-447 group metadata: generation, member
//! id, group instance id): a transactional producer commits consumer offsets
//! as part of its transaction. Maps to `TxnOffsetCommitRequest.json` /
//! `TxnOffsetCommitResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::TxnOffsetCommit;
const MIN: i16 = 0;
const MAX: i16 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest {
    pub transactional_id: String,
    pub group_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// v3+, default -1
    pub generation_id: i32,
    /// v3+, default ""
    pub member_id: String,
    /// v3+, default null
    pub group_instance_id: Option<String>,
    pub topics: Vec<TxnOffsetCommitTopic>,
    pub tagged_fields: TaggedFields,
}

impl Default for TxnOffsetCommitRequest {
    fn default() -> Self {
        TxnOffsetCommitRequest {
            transactional_id: String::new(),
            group_id: String::new(),
            producer_id: -1,
            producer_epoch: -1,
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            topics: Vec::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnOffsetCommitTopic {
    pub name: String,
    pub partitions: Vec<TxnOffsetCommitPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitPartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// v2+, default -1
    pub committed_leader_epoch: i32,
    pub committed_metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnOffsetCommitResponse {
    pub throttle_time_ms: i32,
    /// (topic, [(partition, error)])
    pub topics: Vec<(String, Vec<(i32, ErrorCode)>)>,
    pub tagged_fields: TaggedFields,
}

impl Message for TxnOffsetCommitRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.transactional_id);
        w.string(flexible, &self.group_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        if version >= 3 {
            w.i32(self.generation_id);
            w.string(flexible, &self.member_id);
            w.nullable_string(flexible, self.group_instance_id.as_deref());
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.name);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 2 {
                    w.i32(p.committed_leader_epoch);
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
        let mut m = TxnOffsetCommitRequest {
            transactional_id: r.string(flexible)?,
            group_id: r.string(flexible)?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            ..Default::default()
        };
        if version >= 3 {
            m.generation_id = r.i32()?;
            m.member_id = r.string(flexible)?;
            m.group_instance_id = r.nullable_string(flexible)?;
        }
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let partition_index = r.i32()?;
                let committed_offset = r.i64()?;
                let committed_leader_epoch = if version >= 2 { r.i32()? } else { -1 };
                let committed_metadata = r.nullable_string(flexible)?;
                r.tagged_fields_if(flexible)?;
                Ok(TxnOffsetCommitPartition { partition_index, committed_offset, committed_leader_epoch, committed_metadata })
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(TxnOffsetCommitTopic { name, partitions })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for TxnOffsetCommitResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.topics, |w, (name, partitions)| {
            w.string(flexible, name);
            w.array(flexible, partitions, |w, (p, e)| {
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
        let mut m = TxnOffsetCommitResponse { throttle_time_ms: r.i32()?, ..Default::default() };
        m.topics = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let p = (r.i32()?, r.i16()?);
                r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok((name, partitions))
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

    fn request(v: i16) -> TxnOffsetCommitRequest {
        TxnOffsetCommitRequest {
            transactional_id: "tx".into(),
            group_id: "g".into(),
            producer_id: 5,
            producer_epoch: 1,
            generation_id: if v >= 3 { 4 } else { -1 },
            member_id: if v >= 3 { "m".into() } else { String::new() },
            group_instance_id: if v >= 3 { Some("i".into()) } else { None },
            topics: vec![TxnOffsetCommitTopic {
                name: "t".into(),
                partitions: vec![TxnOffsetCommitPartition {
                    partition_index: 0,
                    committed_offset: 10,
                    committed_leader_epoch: if v >= 2 { 3 } else { -1 },
                    committed_metadata: Some("md".into()),
                }],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&request(v), v);
            round_trip(&TxnOffsetCommitResponse { throttle_time_ms: 2, topics: vec![("t".into(), vec![(0, 22)])], ..Default::default() }, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let mut req = request(0);
        req.topics[0].partitions[0].committed_metadata = None;
        let want0: Vec<u8> = [
            &[0, 2, b't', b'x', 0, 1, b'g'][..],
            &[0, 0, 0, 0, 0, 0, 0, 5, 0, 1],
            &[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0xff, 0xff],
        ]
        .concat();
        assert_eq!(&round_trip(&req, 0)[..], &want0[..]);
        let mut req3 = request(3);
        req3.group_instance_id = None;
        let want3: Vec<u8> = [
            &[3, b't', b'x', 2, b'g'][..],
            &[0, 0, 0, 0, 0, 0, 0, 5, 0, 1],
            &[0, 0, 0, 4, 2, b'm', 0],
            &[2, 2, b't', 2],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 3, 3, b'm', b'd', 0],
            &[0, 0],
        ]
        .concat();
        assert_eq!(&round_trip(&req3, 3)[..], &want3[..]);
    }
}
