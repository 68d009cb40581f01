//! Fetch (key 1), versions 0-12 (flexible from v12; the broker serves all):
//! consumers and follower replicas read record batches. Maps to
//! `FetchRequest.json` / `FetchResponse.json`.
//!
//! * Response `records` is an opaque `Option<Bytes>`; decoding slices it out of
//!   the frame without copying, and encoding writes it as given.
//! * v12 partition tagged fields are typed: `diverging_epoch` (tag 0),
//!   `current_leader` (tag 1), `snapshot_id` (tag 2); `None` means "not on the
//!   wire" (Kafka omits them when default). Unknown tags stay raw in
//!   `tagged_fields`. Before v12 the typed tags are not encoded.
//! * Request v12 tagged `ClusterId` (tag 0) stays raw in `tagged_fields`;
//!   [`FetchRequest::cluster_id`] reads it.

use crate::protocol::{
    check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer,
};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::Fetch;
const MIN: i16 = 0;
const MAX: i16 = 12;


// ---------------------------------------------------------------- request

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// Broker id of a follower, or -1 for a consumer.
    pub replica_id: i32,
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    /// v3+; default i32::MAX
    pub max_bytes: i32,
    /// v4+; 0 = READ_UNCOMMITTED, 1 = READ_COMMITTED
    pub isolation_level: i8,
    /// v7+; default 0
    pub session_id: i32,
    /// v7+; default -1
    pub session_epoch: i32,
    pub topics: Vec<FetchRequestTopic>,
    /// v7+
    pub forgotten_topics_data: Vec<ForgottenTopic>,
    /// v11+; default ""
    pub rack_id: String,
    /// v12+: includes `ClusterId` (tag 0, compact nullable string) when sent.
    pub tagged_fields: TaggedFields,
}

impl Default for FetchRequest {
    fn default() -> Self {
        FetchRequest {
            replica_id: 0,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: i32::MAX,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics: Vec::new(),
            forgotten_topics_data: Vec::new(),
            rack_id: String::new(),
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl FetchRequest {
    /// The v12 tagged `ClusterId` (tag 0), if the sender included one.
    pub fn cluster_id(&self) -> Result<Option<String>> {
        match self.tagged_fields.get(0) {
            None => Ok(None),
            Some(raw) => {
                let mut r = Reader::new(raw.clone());
                let id = r.nullable_string(true)?;
                if !r.is_empty() {
                    return Err(CodecError::Invalid("trailing bytes in Fetch ClusterId tag".into()));
                }
                Ok(id)
            }
        }
    }
}

/// `FetchTopic` in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchRequestTopic {
    pub topic: String,
    pub partitions: Vec<FetchRequestPartition>,
    pub tagged_fields: TaggedFields,
}

/// `FetchPartition` in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequestPartition {
    pub partition: i32,
    /// v9+; default -1
    pub current_leader_epoch: i32,
    pub fetch_offset: i64,
    /// v12+; default -1
    pub last_fetched_epoch: i32,
    /// v5+ (followers); default -1
    pub log_start_offset: i64,
    pub partition_max_bytes: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for FetchRequestPartition {
    fn default() -> Self {
        FetchRequestPartition {
            partition: 0,
            current_leader_epoch: -1,
            fetch_offset: 0,
            last_fetched_epoch: -1,
            log_start_offset: -1,
            partition_max_bytes: 0,
            tagged_fields: TaggedFields::default(),
        }
    }
}

/// v7+: partitions an incremental fetch session should drop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForgottenTopic {
    pub topic: String,
    pub partitions: Vec<i32>,
    pub tagged_fields: TaggedFields,
}

impl Message for FetchRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.replica_id);
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        if version >= 3 {
            w.i32(self.max_bytes);
        }
        if version >= 4 {
            w.i8(self.isolation_level);
        }
        if version >= 7 {
            w.i32(self.session_id);
            w.i32(self.session_epoch);
        }
        w.array(flexible, &self.topics, |w, t| {
            w.string(flexible, &t.topic);
            w.array(flexible, &t.partitions, |w, p| {
                w.i32(p.partition);
                if version >= 9 {
                    w.i32(p.current_leader_epoch);
                }
                w.i64(p.fetch_offset);
                if version >= 12 {
                    w.i32(p.last_fetched_epoch);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                w.i32(p.partition_max_bytes);
                if flexible {
                    w.tagged_fields(&p.tagged_fields);
                }
            });
            if flexible {
                w.tagged_fields(&t.tagged_fields);
            }
        });
        if version >= 7 {
            w.array(flexible, &self.forgotten_topics_data, |w, f| {
                w.string(flexible, &f.topic);
                w.i32_array(flexible, &f.partitions);
                if flexible {
                    w.tagged_fields(&f.tagged_fields);
                }
            });
        }
        if version >= 11 {
            w.string(flexible, &self.rack_id);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = FetchRequest {
            replica_id: r.i32()?,
            max_wait_ms: r.i32()?,
            min_bytes: r.i32()?,
            ..Default::default()
        };
        if version >= 3 {
            m.max_bytes = r.i32()?;
        }
        if version >= 4 {
            m.isolation_level = r.i8()?;
        }
        if version >= 7 {
            m.session_id = r.i32()?;
            m.session_epoch = r.i32()?;
        }
        m.topics = r.array(flexible, |r| {
            let topic = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let mut p = FetchRequestPartition { partition: r.i32()?, ..Default::default() };
                if version >= 9 {
                    p.current_leader_epoch = r.i32()?;
                }
                p.fetch_offset = r.i64()?;
                if version >= 12 {
                    p.last_fetched_epoch = r.i32()?;
                }
                if version >= 5 {
                    p.log_start_offset = r.i64()?;
                }
                p.partition_max_bytes = r.i32()?;
                p.tagged_fields = r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            Ok(FetchRequestTopic { topic, partitions, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        if version >= 7 {
            m.forgotten_topics_data = r.array(flexible, |r| {
                Ok(ForgottenTopic {
                    topic: r.string(flexible)?,
                    partitions: r.i32_array(flexible)?,
                    tagged_fields: r.tagged_fields_if(flexible)?,
                })
            })?;
        }
        if version >= 11 {
            m.rack_id = r.string(flexible)?;
        }
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

// ---------------------------------------------------------------- response

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchResponse {
    /// v1+
    pub throttle_time_ms: i32,
    /// v7+: top-level error (fetch-session errors)
    pub error_code: ErrorCode,
    /// v7+; default 0 (no session)
    pub session_id: i32,
    pub responses: Vec<FetchResponseTopic>,
    pub tagged_fields: TaggedFields,
}

/// `FetchableTopicResponse` in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchResponseTopic {
    pub topic: String,
    pub partition_responses: Vec<FetchResponsePartition>,
    pub tagged_fields: TaggedFields,
}

/// `FetchablePartitionResponse` in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponsePartition {
    pub partition: i32,
    pub error_code: ErrorCode,
    pub high_watermark: i64,
    /// v4+; default -1
    pub last_stable_offset: i64,
    /// v5+; default -1
    pub log_start_offset: i64,
    /// v12+, tag 0: where the follower's log diverges from the leader's.
    pub diverging_epoch: Option<EpochEndOffset>,
    /// v12+, tag 1
    pub current_leader: Option<LeaderIdAndEpoch>,
    /// v12+, tag 2
    pub snapshot_id: Option<SnapshotId>,
    /// v4+, nullable (null = not READ_COMMITTED / none tracked)
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    /// v11+; default -1
    pub preferred_read_replica: i32,
    /// `RecordSet` in the schema: raw record batches, a zero-copy slice of the frame.
    pub records: Option<Bytes>,
    /// Tagged fields other than tags 0-2.
    pub tagged_fields: TaggedFields,
}

impl Default for FetchResponsePartition {
    fn default() -> Self {
        FetchResponsePartition {
            partition: 0,
            error_code: 0,
            high_watermark: 0,
            last_stable_offset: -1,
            log_start_offset: -1,
            diverging_epoch: None,
            current_leader: None,
            snapshot_id: None,
            aborted_transactions: None,
            preferred_read_replica: -1,
            records: None,
            tagged_fields: TaggedFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AbortedTransaction {
    pub producer_id: i64,
    pub first_offset: i64,
    pub tagged_fields: TaggedFields,
}

/// Tag 0 of a v12 partition response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// default -1
    pub epoch: i32,
    /// default -1
    pub end_offset: i64,
    pub tagged_fields: TaggedFields,
}

impl Default for EpochEndOffset {
    fn default() -> Self {
        EpochEndOffset { epoch: -1, end_offset: -1, tagged_fields: TaggedFields::default() }
    }
}

/// Tag 1 of a v12 partition response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderIdAndEpoch {
    /// default -1 (unknown)
    pub leader_id: i32,
    /// default -1
    pub leader_epoch: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for LeaderIdAndEpoch {
    fn default() -> Self {
        LeaderIdAndEpoch { leader_id: -1, leader_epoch: -1, tagged_fields: TaggedFields::default() }
    }
}

/// Tag 2 of a v12 partition response (end offset first, then epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotId {
    /// default -1
    pub end_offset: i64,
    /// default -1
    pub epoch: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for SnapshotId {
    fn default() -> Self {
        SnapshotId { end_offset: -1, epoch: -1, tagged_fields: TaggedFields::default() }
    }
}

/// Decodes a struct carried as the value of a tagged field; the value must be
/// consumed exactly.
fn decode_tagged_struct<T>(
    raw: Bytes,
    what: &str,
    f: impl FnOnce(&mut Reader) -> Result<T>,
) -> Result<T> {
    let mut r = Reader::new(raw);
    let v = f(&mut r)?;
    if !r.is_empty() {
        return Err(CodecError::Invalid(format!("{} trailing bytes in tagged field {what}", r.remaining())));
    }
    Ok(v)
}

fn encode_tagged_struct(f: impl FnOnce(&mut Writer)) -> Bytes {
    let mut w = Writer::new();
    f(&mut w);
    w.into_bytes()
}

impl FetchResponsePartition {
    /// The tagged-field section of a v12 partition: the typed tags plus any
    /// raw ones (a raw tag 0-2 is dropped when the typed field is set),
    /// in ascending tag order.
    fn tagged_section(&self) -> TaggedFields {
        let mut all: Vec<(u32, Bytes)> = Vec::new();
        if let Some(d) = &self.diverging_epoch {
            all.push((0, encode_tagged_struct(|w| {
                w.i32(d.epoch);
                w.i64(d.end_offset);
                w.tagged_fields(&d.tagged_fields);
            })));
        }
        if let Some(l) = &self.current_leader {
            all.push((1, encode_tagged_struct(|w| {
                w.i32(l.leader_id);
                w.i32(l.leader_epoch);
                w.tagged_fields(&l.tagged_fields);
            })));
        }
        if let Some(s) = &self.snapshot_id {
            all.push((2, encode_tagged_struct(|w| {
                w.i64(s.end_offset);
                w.i32(s.epoch);
                w.tagged_fields(&s.tagged_fields);
            })));
        }
        let typed: Vec<u32> = all.iter().map(|(t, _)| *t).collect();
        all.extend(self.tagged_fields.0.iter().filter(|(t, _)| !typed.contains(t)).cloned());
        all.sort_by_key(|(t, _)| *t);
        TaggedFields(all)
    }

    /// Splits a decoded tagged section into the typed tags and the rest.
    fn take_tagged_section(&mut self, section: TaggedFields) -> Result<()> {
        let mut rest = Vec::new();
        for (tag, raw) in section.0 {
            match tag {
                0 => {
                    self.diverging_epoch = Some(decode_tagged_struct(raw, "DivergingEpoch", |r| {
                        Ok(EpochEndOffset { epoch: r.i32()?, end_offset: r.i64()?, tagged_fields: r.tagged_fields()? })
                    })?)
                }
                1 => {
                    self.current_leader = Some(decode_tagged_struct(raw, "CurrentLeader", |r| {
                        Ok(LeaderIdAndEpoch {
                            leader_id: r.i32()?,
                            leader_epoch: r.i32()?,
                            tagged_fields: r.tagged_fields()?,
                        })
                    })?)
                }
                2 => {
                    self.snapshot_id = Some(decode_tagged_struct(raw, "SnapshotId", |r| {
                        Ok(SnapshotId { end_offset: r.i64()?, epoch: r.i32()?, tagged_fields: r.tagged_fields()? })
                    })?)
                }
                _ => rest.push((tag, raw)),
            }
        }
        self.tagged_fields = TaggedFields(rest);
        Ok(())
    }
}

impl FetchResponse {
    /// Encodes as `Message::encode`, except that the records of the partition
    /// responses (numbered in order across topics) for which `external`
    /// gives a length are left out: only their length prefix is written, and
    /// the writer's position right after it is pushed to `holes` with the
    /// partition's number. The caller sends each hole's bytes there (Kafka's
    /// zero-copy `FileRecords` in a fetch response).
    pub fn encode_with_external_records(
        &self,
        w: &mut Writer,
        version: i16,
        external: &mut dyn FnMut(usize) -> Option<usize>,
        holes: &mut Vec<(usize, usize)>,
    ) -> Result<()> {
        self.encode_impl(w, version, Some(external), holes)
    }

    fn encode_impl(
        &self,
        w: &mut Writer,
        version: i16,
        mut external: Option<&mut dyn FnMut(usize) -> Option<usize>>,
        holes: &mut Vec<(usize, usize)>,
    ) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let mut index = 0usize;
        let flexible = KEY.is_flexible(version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        if version >= 7 {
            w.i16(self.error_code);
            w.i32(self.session_id);
        }
        w.array(flexible, &self.responses, |w, t| {
            w.string(flexible, &t.topic);
            w.array(flexible, &t.partition_responses, |w, p| {
                w.i32(p.partition);
                w.i16(p.error_code);
                w.i64(p.high_watermark);
                if version >= 4 {
                    w.i64(p.last_stable_offset);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                if version >= 4 {
                    w.nullable_array(flexible, p.aborted_transactions.as_deref(), |w, a| {
                        w.i64(a.producer_id);
                        w.i64(a.first_offset);
                        if flexible {
                            w.tagged_fields(&a.tagged_fields);
                        }
                    });
                }
                if version >= 11 {
                    w.i32(p.preferred_read_replica);
                }
                match external.as_mut().and_then(|f| f(index)) {
                    Some(len) => {
                        w.records_length_only(flexible, len);
                        holes.push((w.len(), index));
                    }
                    None => w.records(flexible, p.records.as_deref()),
                }
                index += 1;
                if flexible {
                    w.tagged_fields(&p.tagged_section());
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
}

impl Message for FetchResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        self.encode_impl(w, version, None, &mut Vec::new())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = FetchResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        if version >= 7 {
            m.error_code = r.i16()?;
            m.session_id = r.i32()?;
        }
        m.responses = r.array(flexible, |r| {
            let topic = r.string(flexible)?;
            let partition_responses = r.array(flexible, |r| {
                let mut p = FetchResponsePartition {
                    partition: r.i32()?,
                    error_code: r.i16()?,
                    high_watermark: r.i64()?,
                    ..Default::default()
                };
                if version >= 4 {
                    p.last_stable_offset = r.i64()?;
                }
                if version >= 5 {
                    p.log_start_offset = r.i64()?;
                }
                if version >= 4 {
                    p.aborted_transactions = r.nullable_array(flexible, |r| {
                        Ok(AbortedTransaction {
                            producer_id: r.i64()?,
                            first_offset: r.i64()?,
                            tagged_fields: r.tagged_fields_if(flexible)?,
                        })
                    })?;
                }
                if version >= 11 {
                    p.preferred_read_replica = r.i32()?;
                }
                p.records = r.records(flexible)?;
                if flexible {
                    let section = r.tagged_fields()?;
                    p.take_tagged_section(section)?;
                }
                Ok(p)
            })?;
            Ok(FetchResponseTopic { topic, partition_responses, tagged_fields: r.tagged_fields_if(flexible)? })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn sample_request(v: i16) -> FetchRequest {
        let mut m = FetchRequest { replica_id: 2, max_wait_ms: 500, min_bytes: 1, ..Default::default() };
        if v >= 3 {
            m.max_bytes = 52_428_800;
        }
        if v >= 4 {
            m.isolation_level = 1;
        }
        if v >= 7 {
            m.session_id = 99;
            m.session_epoch = 3;
            m.forgotten_topics_data =
                vec![ForgottenTopic { topic: "old".into(), partitions: vec![0, 4], ..Default::default() }];
        }
        let mut p = FetchRequestPartition { partition: 1, fetch_offset: 1234, partition_max_bytes: 1 << 20, ..Default::default() };
        if v >= 9 {
            p.current_leader_epoch = 7;
        }
        if v >= 12 {
            p.last_fetched_epoch = 6;
        }
        if v >= 5 {
            p.log_start_offset = 100;
        }
        m.topics = vec![
            FetchRequestTopic { topic: "orders".into(), partitions: vec![p], ..Default::default() },
            FetchRequestTopic { topic: "none".into(), ..Default::default() },
        ];
        if v >= 11 {
            m.rack_id = "rack-a".into();
        }
        if v >= 12 {
            // ClusterId "c1" as tag 0: compact string
            m.tagged_fields = TaggedFields(vec![(0, Bytes::from_static(&[3, b'c', b'1']))]);
        }
        m
    }

    fn sample_response(v: i16) -> FetchResponse {
        let mut m = FetchResponse::default();
        if v >= 1 {
            m.throttle_time_ms = 10;
        }
        if v >= 7 {
            m.error_code = 0;
            m.session_id = 99;
        }
        let mut p = FetchResponsePartition {
            partition: 1,
            error_code: 0,
            high_watermark: 2000,
            records: Some(Bytes::from_static(b"some-record-batches")),
            ..Default::default()
        };
        if v >= 4 {
            p.last_stable_offset = 1999;
            p.aborted_transactions =
                Some(vec![AbortedTransaction { producer_id: 77, first_offset: 1500, ..Default::default() }]);
        }
        if v >= 5 {
            p.log_start_offset = 3;
        }
        if v >= 11 {
            p.preferred_read_replica = 2;
        }
        if v >= 12 {
            p.diverging_epoch = Some(EpochEndOffset { epoch: 4, end_offset: 1800, ..Default::default() });
            p.current_leader = Some(LeaderIdAndEpoch { leader_id: 1, leader_epoch: 5, ..Default::default() });
            p.snapshot_id = Some(SnapshotId { end_offset: 900, epoch: 3, ..Default::default() });
            p.tagged_fields = TaggedFields(vec![(9, Bytes::from_static(b"?"))]);
        }
        let empty = FetchResponsePartition { partition: 2, error_code: 1, ..Default::default() };
        m.responses = vec![FetchResponseTopic {
            topic: "orders".into(),
            partition_responses: vec![p, empty],
            ..Default::default()
        }];
        m
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&FetchRequest::default(), v);
            round_trip(&FetchResponse::default(), v);
        }
        assert!(FetchResponse::default().to_bytes(13).is_err());
    }

    #[test]
    fn defaults_match_schema() {
        let r = FetchRequest::default();
        assert_eq!((r.max_bytes, r.isolation_level, r.session_id, r.session_epoch), (i32::MAX, 0, 0, -1));
        assert_eq!(r.rack_id, "");
        let p = FetchRequestPartition::default();
        assert_eq!((p.current_leader_epoch, p.last_fetched_epoch, p.log_start_offset), (-1, -1, -1));
        let p = FetchResponsePartition::default();
        assert_eq!((p.last_stable_offset, p.log_start_offset, p.preferred_read_replica), (-1, -1, -1));
        assert_eq!((EpochEndOffset::default().epoch, EpochEndOffset::default().end_offset), (-1, -1));
        assert_eq!(LeaderIdAndEpoch::default().leader_id, -1);
        assert_eq!(SnapshotId::default().end_offset, -1);
    }

    #[test]
    fn cluster_id_tag() {
        let m = sample_request(12);
        assert_eq!(m.cluster_id().unwrap().as_deref(), Some("c1"));
        assert_eq!(FetchRequest::default().cluster_id().unwrap(), None);
    }

    #[test]
    fn hand_checked_request_bytes() {
        // v4 consumer fetch of t-0 from offset 5
        let m = FetchRequest {
            replica_id: -1,
            max_wait_ms: 100,
            min_bytes: 1,
            max_bytes: 1024,
            isolation_level: 1,
            topics: vec![FetchRequestTopic {
                topic: "t".into(),
                partitions: vec![FetchRequestPartition {
                    partition: 0,
                    fetch_offset: 5,
                    partition_max_bytes: 512,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v4: &[u8] = &[
            0xff, 0xff, 0xff, 0xff,  // replica -1
            0, 0, 0, 100,            // max wait
            0, 0, 0, 1,              // min bytes
            0, 0, 4, 0,              // max bytes
            1,                       // isolation
            0, 0, 0, 1, 0, 1, b't',  // topics: [t
            0, 0, 0, 1,              //   partitions: 1
            0, 0, 0, 0,              //     partition
            0, 0, 0, 0, 0, 0, 0, 5,  //     fetch offset
            0, 0, 2, 0,              //     partition max bytes
        ];
        assert_eq!(&round_trip(&m, 4)[..], v4);
        #[rustfmt::skip]
        let v12: &[u8] = &[
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 4, 0, 1,
            0, 0, 0, 0,              // session id
            0xff, 0xff, 0xff, 0xff,  // session epoch -1
            2, 2, b't',              // topics: [t
            2,                       //   partitions: 1
            0, 0, 0, 0,              //     partition
            0xff, 0xff, 0xff, 0xff,  //     current leader epoch -1
            0, 0, 0, 0, 0, 0, 0, 5,  //     fetch offset
            0xff, 0xff, 0xff, 0xff,  //     last fetched epoch -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log start offset -1
            0, 0, 2, 0,              //     partition max bytes
            0,                       //     partition tags
            0,                       //   topic tags
            1,                       // forgotten topics: 0
            1,                       // rack id ""
            0,                       // tags
        ];
        assert_eq!(&round_trip(&m, 12)[..], v12);
    }

    #[test]
    fn hand_checked_v12_response_with_diverging_epoch() {
        let m = FetchResponse {
            responses: vec![FetchResponseTopic {
                topic: "t".into(),
                partition_responses: vec![FetchResponsePartition {
                    partition: 0,
                    error_code: 0,
                    high_watermark: 10,
                    last_stable_offset: 10,
                    log_start_offset: 0,
                    diverging_epoch: Some(EpochEndOffset { epoch: 2, end_offset: 8, ..Default::default() }),
                    records: Some(Bytes::new()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 0, 0, 0,              // throttle
            0, 0,                    // error
            0, 0, 0, 0,              // session id
            2, 2, b't',              // responses: [t
            2,                       //   partitions: 1
            0, 0, 0, 0,              //     partition
            0, 0,                    //     error
            0, 0, 0, 0, 0, 0, 0, 10, //     hw
            0, 0, 0, 0, 0, 0, 0, 10, //     lso
            0, 0, 0, 0, 0, 0, 0, 0,  //     log start
            0,                       //     aborted txns null
            0xff, 0xff, 0xff, 0xff,  //     preferred read replica -1
            1,                       //     records: empty
            1,                       //     tags: 1
            0, 13,                   //       tag 0, 13 bytes:
            0, 0, 0, 2,              //         epoch
            0, 0, 0, 0, 0, 0, 0, 8,  //         end offset
            0,                       //         struct tags
            0,                       //   topic tags
            0,                       // tags
        ];
        let b = round_trip(&m, 12);
        assert_eq!(&b[..], want);
        let back = FetchResponse::from_bytes(b, 12).unwrap();
        let d = back.responses[0].partition_responses[0].diverging_epoch.as_ref().unwrap();
        assert_eq!((d.epoch, d.end_offset), (2, 8));
    }

    #[test]
    fn typed_tags_win_over_raw_duplicates_and_are_sorted() {
        let p = FetchResponsePartition {
            current_leader: Some(LeaderIdAndEpoch { leader_id: 3, leader_epoch: 4, ..Default::default() }),
            tagged_fields: TaggedFields(vec![(5, Bytes::from_static(b"x")), (1, Bytes::from_static(b"junk"))]),
            ..Default::default()
        };
        let tags: Vec<u32> = p.tagged_section().0.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, vec![1, 5]);
    }

    #[test]
    fn bad_tagged_struct_is_an_error() {
        let mut m = sample_response(12);
        // a v12 partition whose tag 0 value is too short for an EpochEndOffset
        m.responses[0].partition_responses[0].diverging_epoch = None;
        m.responses[0].partition_responses[0].tagged_fields = TaggedFields(vec![(0, Bytes::from_static(&[0, 0]))]);
        let b = m.to_bytes(12).unwrap();
        assert!(FetchResponse::from_bytes(b, 12).is_err());
        // ... or too long
        m.responses[0].partition_responses[0].current_leader = None;
        m.responses[0].partition_responses[0].tagged_fields =
            TaggedFields(vec![(1, Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 9]))]);
        let b = m.to_bytes(12).unwrap();
        assert!(FetchResponse::from_bytes(b, 12).is_err());
    }

    #[test]
    fn records_are_zero_copy_slices() {
        let frame = sample_response(12).to_bytes(12).unwrap();
        let m = FetchResponse::from_bytes(frame.clone(), 12).unwrap();
        let rec = m.responses[0].partition_responses[0].records.as_ref().unwrap();
        assert_eq!(&rec[..], b"some-record-batches");
        let (lo, hi) = (frame.as_ptr() as usize, frame.as_ptr() as usize + frame.len());
        assert!((lo..hi).contains(&(rec.as_ptr() as usize)));
    }

    #[test]
    fn external_records_splice_back_to_the_same_bytes() {
        for v in MIN..=MAX {
            let mut full = sample_response(v);
            // A second topic with two partitions, the last one's records external too.
            let mut t = full.responses[0].clone();
            t.topic = "other".into();
            let mut p2 = t.partition_responses[0].clone();
            p2.partition = 7;
            p2.records = Some(Bytes::from_static(b"second-partition-batches"));
            t.partition_responses.push(p2);
            full.responses.push(t);
            let expected = full.to_bytes(v).unwrap();
            let mut stripped = full.clone();
            let mut external: Vec<Option<Bytes>> = Vec::new();
            for t in &mut stripped.responses {
                for p in &mut t.partition_responses {
                    external.push(p.records.take().filter(|r| r.len() > 5));
                    p.records = Some(Bytes::new());
                }
            }
            // The ones left in place must come back as they were.
            let mut i = 0;
            for t in &mut stripped.responses {
                for p in &mut t.partition_responses {
                    if external[i].is_none() {
                        p.records = full.responses.iter().flat_map(|t| &t.partition_responses).nth(i).unwrap().records.clone();
                    }
                    i += 1;
                }
            }
            let mut w = Writer::new();
            let mut holes = Vec::new();
            let lens: Vec<Option<usize>> = external.iter().map(|e| e.as_ref().map(|b| b.len())).collect();
            stripped.encode_with_external_records(&mut w, v, &mut |i| lens[i], &mut holes).unwrap();
            assert_eq!(holes.len(), lens.iter().flatten().count(), "v{v}");
            let enc = w.into_bytes();
            let mut spliced = Vec::new();
            let mut done = 0;
            for (pos, i) in holes {
                spliced.extend_from_slice(&enc[done..pos]);
                spliced.extend_from_slice(external[i].as_ref().unwrap());
                done = pos;
            }
            spliced.extend_from_slice(&enc[done..]);
            assert_eq!(&spliced[..], &expected[..], "v{v}");
        }
    }

    #[test]
    fn truncated_input_errors_without_panicking() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    // ---- requests captured from real clients (tests/tools/capture_requests.py) ----

    fn check_capture(text: &str) -> (i16, FetchRequest) {
        let (h, m) = super::super::test_util::check_capture::<FetchRequest>(text);
        (h.api_version, m)
    }

    fn one_partition(m: &FetchRequest) -> &FetchRequestPartition {
        assert_eq!(m.topics.len(), 1);
        assert_eq!(m.topics[0].topic, "zk-capture");
        assert_eq!(m.topics[0].partitions.len(), 1);
        &m.topics[0].partitions[0]
    }

    #[test]
    fn captured_kcat_fetch_v11() {
        let (v, m) = check_capture(include_str!("testdata/fetch_request_kcat.hex"));
        assert_eq!(v, 11);
        assert_eq!((m.replica_id, m.max_wait_ms, m.min_bytes, m.max_bytes), (-1, 500, 1, 52_428_800));
        assert_eq!((m.isolation_level, m.session_id, m.session_epoch), (1, 0, -1));
        let p = one_partition(&m);
        assert_eq!((p.partition, p.current_leader_epoch, p.fetch_offset), (0, -1, 0));
        assert_eq!((p.log_start_offset, p.partition_max_bytes), (-1, 1_048_576));
        assert!(m.forgotten_topics_data.is_empty());
        assert_eq!(m.rack_id, "");
    }

    #[test]
    fn captured_confluent_kafka_fetch_v12() {
        let (v, m) = check_capture(include_str!("testdata/fetch_request_confluent_kafka.hex"));
        assert_eq!(v, 12);
        assert_eq!((m.replica_id, m.max_wait_ms, m.min_bytes, m.max_bytes), (-1, 500, 1, 52_428_800));
        assert_eq!((m.isolation_level, m.session_id, m.session_epoch), (1, 0, -1));
        let p = one_partition(&m);
        // leader epoch 0 comes from the capture script's Metadata answer
        assert_eq!((p.partition, p.current_leader_epoch, p.fetch_offset, p.last_fetched_epoch), (0, 0, 0, -1));
        assert_eq!((p.log_start_offset, p.partition_max_bytes), (-1, 1_048_576));
        assert_eq!(m.cluster_id().unwrap(), None);
        assert!(m.tagged_fields.is_empty());
    }

    #[test]
    fn captured_kafka_python_fetch_v12() {
        let (v, m) = check_capture(include_str!("testdata/fetch_request_kafka_python.hex"));
        assert_eq!(v, 12);
        assert_eq!((m.replica_id, m.max_wait_ms, m.min_bytes, m.max_bytes), (-1, 500, 1, 52_428_800));
        assert_eq!((m.isolation_level, m.session_id, m.session_epoch), (0, 0, 0));
        let p = one_partition(&m);
        assert_eq!((p.partition, p.current_leader_epoch, p.fetch_offset, p.last_fetched_epoch), (0, 0, 0, -1));
        assert_eq!((p.log_start_offset, p.partition_max_bytes), (-1, 1_048_576));
        assert_eq!(m.rack_id, "");
    }
}
