//! GroupMetadataManager: the records the group coordinator keeps in
//! `__consumer_offsets` (offset-commit and group-metadata keys and values in
//! Kafka's versioned, non-flexible formats), building them into record
//! batches, and replaying a partition's log into groups and offsets when this
//! broker becomes its leader. Maps to Kafka's
//! `kafka.coordinator.group.GroupMetadataManager` (its record schemas and
//! `doLoadGroupsAndOffsets`).

use crate::common::{java_string_hash, kafka_abs, TopicPartition};
use crate::coordinator::group_metadata::{GroupMetadata, GroupState, MemberMetadata, OffsetAndMetadata};
use crate::protocol::compression::Compression;
use crate::protocol::records::{batches, RecordBatchBuilder};
use crate::protocol::{Reader, Writer};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

/// The `__consumer_offsets` partition of a group: `abs(hash(group)) % n`.
pub fn partition_for(group_id: &str, num_partitions: i32) -> i32 {
    kafka_abs(java_string_hash(group_id)) % num_partitions.max(1)
}

/// A decoded record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseKey {
    /// Key versions 0 and 1.
    Offset { group: String, tp: TopicPartition },
    /// Key version 2.
    Group { group: String },
}

impl BaseKey {
    pub fn group(&self) -> &str {
        match self {
            BaseKey::Offset { group, .. } | BaseKey::Group { group } => group,
        }
    }
}

fn err(s: impl Into<String>) -> String {
    s.into()
}

/// Offset commit key (version 1): group, topic, partition.
pub fn offset_commit_key(group: &str, tp: &TopicPartition) -> Bytes {
    let mut w = Writer::new();
    w.i16(1);
    w.string(false, group);
    w.string(false, &tp.topic);
    w.i32(tp.partition);
    w.into_bytes()
}

/// Group metadata key (version 2): group.
pub fn group_metadata_key(group: &str) -> Bytes {
    let mut w = Writer::new();
    w.i16(2);
    w.string(false, group);
    w.into_bytes()
}

/// Offset commit value: v3 normally; v1 when the commit carried an explicit
/// expire timestamp (old OffsetCommit v1-v4 retention semantics).
pub fn offset_commit_value(o: &OffsetAndMetadata) -> Bytes {
    let mut w = Writer::new();
    match o.expire_timestamp {
        Some(expire) => {
            w.i16(1);
            w.i64(o.offset);
            w.string(false, &o.metadata);
            w.i64(o.commit_timestamp);
            w.i64(expire);
        }
        None => {
            w.i16(3);
            w.i64(o.offset);
            w.i32(o.leader_epoch);
            w.string(false, &o.metadata);
            w.i64(o.commit_timestamp);
        }
    }
    w.into_bytes()
}

/// Group metadata value, version 3. `assignment` overrides the members'
/// stored assignments (the leader's SyncGroup writes before applying).
pub fn group_metadata_value(g: &GroupMetadata, assignment: Option<&BTreeMap<String, Bytes>>) -> Bytes {
    let mut w = Writer::new();
    w.i16(3);
    w.string(false, g.protocol_type.as_deref().unwrap_or(""));
    w.i32(g.generation_id);
    w.nullable_string(false, g.protocol_name.as_deref());
    w.nullable_string(false, g.leader_id.as_deref());
    w.i64(g.state_timestamp);
    let protocol = g.protocol_name.clone().unwrap_or_default();
    let members: Vec<&MemberMetadata> = g.members.values().collect();
    w.array(false, &members, |w, m| {
        w.string(false, &m.member_id);
        w.nullable_string(false, m.group_instance_id.as_deref());
        w.string(false, &m.client_id);
        w.string(false, &m.client_host);
        w.i32(m.rebalance_timeout_ms);
        w.i32(m.session_timeout_ms);
        w.bytes(false, &m.metadata_for(&protocol));
        let a = assignment.and_then(|a| a.get(&m.member_id)).unwrap_or(&m.assignment);
        w.bytes(false, a);
    });
    w.into_bytes()
}

pub fn read_key(buf: Bytes) -> Result<BaseKey, String> {
    let mut r = Reader::new(buf);
    let version = r.i16().map_err(|e| err(e.to_string()))?;
    let s = |r: &mut Reader| r.string(false).map_err(|e| e.to_string());
    match version {
        0 | 1 => {
            let group = s(&mut r)?;
            let topic = s(&mut r)?;
            let partition = r.i32().map_err(|e| e.to_string())?;
            Ok(BaseKey::Offset { group, tp: TopicPartition::new(topic, partition) })
        }
        2 => Ok(BaseKey::Group { group: s(&mut r)? }),
        v => Err(format!("unknown key version {v} in __consumer_offsets")),
    }
}

pub fn read_offset_value(buf: Bytes) -> Result<OffsetAndMetadata, String> {
    let mut r = Reader::new(buf);
    let e = |e: crate::protocol::CodecError| e.to_string();
    let version = r.i16().map_err(e)?;
    let offset = r.i64().map_err(e)?;
    let mut o = OffsetAndMetadata { offset, leader_epoch: -1, metadata: String::new(), commit_timestamp: -1, expire_timestamp: None };
    match version {
        0 | 2 => {
            o.metadata = r.string(false).map_err(e)?;
            o.commit_timestamp = r.i64().map_err(e)?;
        }
        1 => {
            o.metadata = r.string(false).map_err(e)?;
            o.commit_timestamp = r.i64().map_err(e)?;
            o.expire_timestamp = Some(r.i64().map_err(e)?);
        }
        3 => {
            o.leader_epoch = r.i32().map_err(e)?;
            o.metadata = r.string(false).map_err(e)?;
            o.commit_timestamp = r.i64().map_err(e)?;
        }
        v => return Err(format!("unknown offset value version {v}")),
    }
    Ok(o)
}

/// Decodes a group metadata value (versions 0-3) into a group (members
/// without timers; see `GroupMetadata::loaded`).
pub fn read_group_value(group_id: &str, buf: Bytes) -> Result<GroupMetadata, String> {
    let mut r = Reader::new(buf);
    let e = |e: crate::protocol::CodecError| e.to_string();
    let version = r.i16().map_err(e)?;
    if !(0..=3).contains(&version) {
        return Err(format!("unknown group metadata value version {version}"));
    }
    let mut g = GroupMetadata::new(group_id, -1);
    let protocol_type = r.string(false).map_err(e)?;
    g.generation_id = r.i32().map_err(e)?;
    g.protocol_name = r.nullable_string(false).map_err(e)?;
    g.leader_id = r.nullable_string(false).map_err(e)?;
    g.state_timestamp = if version >= 2 { r.i64().map_err(e)? } else { -1 };
    let protocol = g.protocol_name.clone().unwrap_or_default();
    let members = r
        .array(false, |r| {
            let member_id = r.string(false)?;
            let group_instance_id = if version >= 3 { r.nullable_string(false)? } else { None };
            let client_id = r.string(false)?;
            let client_host = r.string(false)?;
            let rebalance_timeout_ms = if version >= 1 { Some(r.i32()?) } else { None };
            let session_timeout_ms = r.i32()?;
            let subscription = r.bytes(false)?;
            let assignment = r.bytes(false)?;
            Ok(MemberMetadata {
                member_id,
                group_instance_id,
                client_id,
                client_host,
                rebalance_timeout_ms: rebalance_timeout_ms.unwrap_or(session_timeout_ms),
                session_timeout_ms,
                protocol_type: protocol_type.clone(),
                protocols: vec![(protocol.clone(), subscription)],
                assignment,
                awaiting_join: None,
                awaiting_sync: None,
                heartbeat_deadline: 0,
                is_new: false,
            })
        })
        .map_err(e)?;
    g.protocol_type = if protocol_type.is_empty() && members.is_empty() { None } else { Some(protocol_type) };
    for m in members {
        g.members.insert(m.member_id.clone(), m);
    }
    g.state = if g.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
    Ok(g)
}

/// One batch of records (key, value-or-tombstone) for `__consumer_offsets`.
pub fn build_batch(records: &[(Bytes, Option<Bytes>)], now: i64) -> std::io::Result<Bytes> {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for (k, v) in records {
        b.append(now, Some(k), v.as_deref(), &[]);
    }
    b.build()
}

/// What replaying a partition's log produced: the last group record and the
/// last offsets per group (tombstones applied).
#[derive(Debug, Default)]
pub struct LoadedPartition {
    pub groups: HashMap<String, Option<GroupMetadata>>,
    pub offsets: HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>,
    /// Groups whose group record was a tombstone after their offsets.
    pub removed_groups: Vec<String>,
    /// Offsets of transactions with no marker yet: producer id -> group -> offsets.
    pub pending_txn: HashMap<i64, HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>>,
}

/// The marker of a control batch's record key (version, type): Some(true)
/// for COMMIT, Some(false) for ABORT, None for anything else.
pub fn control_marker(key: &[u8]) -> Option<bool> {
    if key.len() < 4 {
        return None;
    }
    match i16::from_be_bytes([key[2], key[3]]) {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

impl LoadedPartition {
    /// Applies the records of `log_bytes` (whole batches) in order.
    pub fn replay(&mut self, log_bytes: Bytes) -> Result<i64, String> {
        let mut next = -1;
        for batch in batches(log_bytes) {
            let batch = batch.map_err(|e| e.to_string())?;
            next = batch.next_offset();
            let producer_id = batch.producer_id();
            if batch.is_control() {
                // A transaction's end: its offsets become committed or vanish.
                let recs = batch.records().map_err(|e| e.to_string())?;
                let marker = recs.first().and_then(|r| r.key.as_deref().and_then(control_marker));
                if let (Some(commit), Some(pending)) = (marker, self.pending_txn.remove(&producer_id)) {
                    if commit {
                        for (group, offsets) in pending {
                            self.offsets.entry(group).or_default().extend(offsets);
                        }
                    }
                }
                continue;
            }
            let transactional = batch.is_transactional();
            for rec in batch.records().map_err(|e| e.to_string())? {
                let Some(key) = rec.key else { continue };
                let key = match read_key(key) {
                    Ok(k) => k,
                    Err(e) => {
                        log::warn!("skipping record at offset {} of __consumer_offsets: {e}", rec.offset);
                        continue;
                    }
                };
                match key {
                    BaseKey::Offset { group, tp } => match rec.value {
                        Some(v) => match read_offset_value(v) {
                            Ok(o) if transactional => {
                                self.pending_txn.entry(producer_id).or_default().entry(group).or_default().insert(tp, o);
                            }
                            Ok(o) => {
                                self.offsets.entry(group).or_default().insert(tp, o);
                            }
                            Err(e) => log::warn!("skipping offset record at {}: {e}", rec.offset),
                        },
                        None => {
                            if let Some(m) = self.offsets.get_mut(&group) {
                                m.remove(&tp);
                            }
                        }
                    },
                    BaseKey::Group { group } => match rec.value {
                        Some(v) => match read_group_value(&group, v) {
                            Ok(g) => {
                                self.groups.insert(group, Some(g));
                            }
                            Err(e) => log::warn!("skipping group record at {}: {e}", rec.offset),
                        },
                        None => {
                            self.groups.insert(group, None);
                        }
                    },
                }
            }
        }
        Ok(next)
    }

    /// The groups to serve: group records plus offsets-only groups.
    pub fn into_groups(mut self, now: i64) -> Vec<GroupMetadata> {
        // Groups with only pending transactional offsets exist too (as Kafka
        // loads them), so that the marker finds them.
        for pending in self.pending_txn.values() {
            for group in pending.keys() {
                self.offsets.entry(group.clone()).or_default();
            }
        }
        let mut out: HashMap<String, GroupMetadata> = HashMap::new();
        for (id, g) in self.groups {
            if let Some(g) = g {
                out.insert(id, g.loaded(now));
            }
        }
        let with_pending: std::collections::HashSet<&String> = self.pending_txn.values().flat_map(|m| m.keys()).collect();
        for (id, offsets) in &self.offsets {
            let (id, offsets) = (id.clone(), offsets.clone());
            if offsets.is_empty() && !with_pending.contains(&id) {
                continue;
            }
            let g = out.entry(id.clone()).or_insert_with(|| GroupMetadata::new(&id, now));
            g.offsets = offsets;
        }
        out.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_partition_rule() {
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("test", 50), 48);
    }

    #[test]
    fn offset_key_bytes() {
        // int16 version 1, "g", "t", partition 3
        let k = offset_commit_key("g", &TopicPartition::new("t", 3));
        assert_eq!(&k[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert_eq!(read_key(k).unwrap(), BaseKey::Offset { group: "g".into(), tp: TopicPartition::new("t", 3) });
        // version 0 keys have the same layout
        let k0 = Bytes::from_static(&[0, 0, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert!(matches!(read_key(k0).unwrap(), BaseKey::Offset { .. }));
    }

    #[test]
    fn group_key_bytes() {
        let k = group_metadata_key("ab");
        assert_eq!(&k[..], &[0, 2, 0, 2, b'a', b'b']);
        assert_eq!(read_key(k).unwrap(), BaseKey::Group { group: "ab".into() });
        assert!(read_key(Bytes::from_static(&[0, 9, 0, 0])).is_err());
    }

    #[test]
    fn offset_value_v3_and_v1_bytes() {
        let o = OffsetAndMetadata { offset: 5, leader_epoch: 2, metadata: "m".into(), commit_timestamp: 1000, expire_timestamp: None };
        let v = offset_commit_value(&o);
        assert_eq!(
            &v[..],
            &[0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2, 0, 1, b'm', 0, 0, 0, 0, 0, 0, 0x03, 0xe8]
        );
        assert_eq!(read_offset_value(v).unwrap(), o);
        let o1 = OffsetAndMetadata { expire_timestamp: Some(2000), leader_epoch: -1, ..o.clone() };
        let v1 = offset_commit_value(&o1);
        assert_eq!(
            &v1[..],
            &[0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, b'm', 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0x07, 0xd0]
        );
        assert_eq!(read_offset_value(v1).unwrap(), o1);
        // v0/v2: offset, metadata, commit timestamp
        let v2 = Bytes::from_static(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        let got = read_offset_value(v2).unwrap();
        assert_eq!((got.offset, got.metadata.as_str(), got.commit_timestamp, got.leader_epoch), (7, "", 9, -1));
    }

    #[test]
    fn group_value_v3_bytes() {
        let mut g = GroupMetadata::new("g", 0);
        g.protocol_type = Some("consumer".into());
        g.generation_id = 1;
        g.protocol_name = Some("range".into());
        g.leader_id = Some("m".into());
        g.state_timestamp = 16;
        g.members.insert(
            "m".into(),
            MemberMetadata {
                member_id: "m".into(),
                group_instance_id: None,
                client_id: "c".into(),
                client_host: "/h".into(),
                rebalance_timeout_ms: 300,
                session_timeout_ms: 100,
                protocol_type: "consumer".into(),
                protocols: vec![("range".into(), Bytes::from_static(b"S"))],
                assignment: Bytes::from_static(b"A"),
                awaiting_join: None,
                awaiting_sync: None,
                heartbeat_deadline: 0,
                is_new: false,
            },
        );
        let v = group_metadata_value(&g, None);
        let mut want: Vec<u8> = vec![0, 3, 0, 8];
        want.extend_from_slice(b"consumer");
        want.extend_from_slice(&[0, 0, 0, 1, 0, 5]);
        want.extend_from_slice(b"range");
        want.extend_from_slice(&[0, 1, b'm', 0, 0, 0, 0, 0, 0, 0, 16]);
        want.extend_from_slice(&[0, 0, 0, 1]); // one member
        want.extend_from_slice(&[0, 1, b'm', 0xff, 0xff, 0, 1, b'c', 0, 2, b'/', b'h']);
        want.extend_from_slice(&[0, 0, 1, 44, 0, 0, 0, 100]);
        want.extend_from_slice(&[0, 0, 0, 1, b'S', 0, 0, 0, 1, b'A']);
        assert_eq!(&v[..], &want[..]);
        let back = read_group_value("g", v).unwrap();
        assert_eq!(back.generation_id, 1);
        assert_eq!(back.protocol_name.as_deref(), Some("range"));
        assert_eq!(back.leader_id.as_deref(), Some("m"));
        let m = &back.members["m"];
        assert_eq!((m.rebalance_timeout_ms, m.session_timeout_ms, &m.assignment[..]), (300, 100, &b"A"[..]));
        assert_eq!(m.metadata_for("range"), Bytes::from_static(b"S"));
        assert_eq!(back.state, GroupState::Stable);

        // An empty group (v3, no protocol): protocolType "" and null protocol/leader.
        let e = GroupMetadata::new("g", 5);
        let v = group_metadata_value(&e, None);
        assert_eq!(&v[..], &[0, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]);
        let back = read_group_value("g", v).unwrap();
        assert_eq!(back.state, GroupState::Empty);
        assert_eq!(back.protocol_type, None);
    }

    #[test]
    fn replay_applies_last_write_and_tombstones() {
        let tp = TopicPartition::new("t", 0);
        let o = |off| OffsetAndMetadata { offset: off, leader_epoch: -1, metadata: String::new(), commit_timestamp: 1, expire_timestamp: None };
        let b1 = build_batch(
            &[
                (offset_commit_key("g", &tp), Some(offset_commit_value(&o(1)))),
                (offset_commit_key("g", &tp), Some(offset_commit_value(&o(2)))),
                (offset_commit_key("h", &tp), Some(offset_commit_value(&o(9)))),
                (group_metadata_key("g"), Some(group_metadata_value(&GroupMetadata::new("g", 1), None))),
            ],
            1,
        )
        .unwrap();
        let b2 = build_batch(&[(offset_commit_key("h", &tp), None), (group_metadata_key("x"), None)], 2).unwrap();
        let mut all = b1.to_vec();
        all.extend_from_slice(&b2);
        let mut lp = LoadedPartition::default();
        lp.replay(Bytes::from(all)).unwrap();
        let mut groups = lp.into_groups(10);
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].group_id, "g");
        assert_eq!(groups[0].offsets[&tp].offset, 2);
    }

    #[test]
    fn replay_keeps_transactional_offsets_pending_until_their_marker() {
        use crate::protocol::records::RecordBatchBuilder;
        let tp = TopicPartition::new("t", 0);
        let o = |off| OffsetAndMetadata { offset: off, leader_epoch: -1, metadata: String::new(), commit_timestamp: 1, expire_timestamp: None };
        let txn_batch = |pid: i64, off: i64, base: i64| {
            let mut b = RecordBatchBuilder::new(Compression::None).producer(pid, 0, 0).transactional(true).base_offset(base);
            b.append(1, Some(&offset_commit_key("g", &tp)), Some(&offset_commit_value(&o(off))), &[]);
            b.build().unwrap()
        };
        let marker = |pid: i64, commit: bool, base: i64| {
            let mut b = RecordBatchBuilder::new(Compression::None).producer(pid, 0, -1).transactional(true).control(true).base_offset(base);
            b.append(1, Some(&[0, 0, 0, commit as u8]), Some(&[0, 0, 0, 0, 0, 0]), &[]);
            b.build().unwrap()
        };
        let plain = build_batch(&[(offset_commit_key("g", &tp), Some(offset_commit_value(&o(1))))], 1).unwrap();
        let mut all = plain.to_vec();
        all.extend_from_slice(&txn_batch(7, 5, 1)); // committed below
        all.extend_from_slice(&txn_batch(8, 9, 2)); // aborted below
        all.extend_from_slice(&marker(8, false, 3));
        let mut lp = LoadedPartition::default();
        lp.replay(Bytes::from(all.clone())).unwrap();
        assert_eq!(lp.offsets["g"][&tp].offset, 1, "nothing visible before the commit marker");
        assert!(lp.pending_txn.contains_key(&7) && !lp.pending_txn.contains_key(&8));
        all.extend_from_slice(&marker(7, true, 4));
        let mut lp = LoadedPartition::default();
        lp.replay(Bytes::from(all)).unwrap();
        assert_eq!(lp.offsets["g"][&tp].offset, 5);
        assert!(lp.pending_txn.is_empty());
        assert_eq!(control_marker(&[0, 0, 0, 1]), Some(true));
        assert_eq!(control_marker(&[0, 0, 0, 0]), Some(false));
        assert_eq!(control_marker(&[0, 0]), None);
    }
}
