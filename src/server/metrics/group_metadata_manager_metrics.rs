//! The group coordinator's metrics: Kafka's `GroupMetadataManager` gauges
//! (`kafka.coordinator.group:type=GroupMetadataManager,name=NumGroups|
//! NumOffsets|NumGroupsStable|...`, exported as
//! `kafka_coordinator_group_groupmetadatamanager_numgroups`), and consumer
//! group lag per group and partition, which Kafka's brokers do not export
//! (operators run kafka_exporter or Burrow for it): here the coordinator
//! computes it from the committed offset and the partition's high watermark
//! (its own replica's, else asked of the leader at scrape time),
//! as `kafka-consumer-groups --describe` shows LAG, under kafka_exporter's
//! names (`kafka_consumergroup_lag{consumergroup,topic,partition}`).

use super::{Kind, MetricsText};
use crate::common::TopicPartition;
use crate::coordinator::GroupCoordinator;
use crate::server::replica_manager::ReplicaManager;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One group's committed partitions: (partition, committed, end offset).
pub type GroupLag = (String, Vec<(TopicPartition, i64, Option<i64>)>);

/// LAG as the consumer-groups tool computes it: end offset minus the
/// committed offset, unknown when either is.
pub fn lag(committed: i64, end: Option<i64>) -> Option<i64> {
    match end {
        Some(e) if committed >= 0 && e >= 0 => Some((e - committed).max(0)),
        _ => None,
    }
}

/// The committed partitions of this coordinator's groups that have no
/// replica on this broker: their end offsets must be asked of their leaders.
pub fn partitions_without_local_replica(gc: &GroupCoordinator, rm: &ReplicaManager) -> BTreeSet<TopicPartition> {
    let (_, groups) = gc.list_groups(&[]);
    let mut out = BTreeSet::new();
    for (group, _, _) in &groups {
        let Ok(offsets) = gc.fetch_offsets(group, None) else { continue };
        for (tp, o) in offsets {
            if o.is_some() && rm.get_partition(&tp).is_none() {
                out.insert(tp);
            }
        }
    }
    out
}

/// The high watermarks of `partitions` from their leaders (ListOffsets for
/// the latest offset, one request per leader over the inter-broker
/// listener), as the consumer-groups tool reads LOG-END-OFFSET. A partition
/// whose leader is unknown or does not answer is left out.
pub async fn remote_end_offsets(
    partitions: &BTreeSet<TopicPartition>,
    metadata_cache: &crate::server::metadata_cache::MetadataCache,
    listener_name: &str,
    channel: &crate::client::ChannelSecurity,
    broker_id: i32,
) -> HashMap<TopicPartition, i64> {
    use crate::protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopic};
    let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    for tp in partitions {
        if let Some(p) = metadata_cache.partition(&tp.topic, tp.partition).filter(|p| p.leader >= 0) {
            by_leader.entry(p.leader).or_default().entry(tp.topic.clone()).or_default().push(tp.partition);
        }
    }
    let timeout = std::time::Duration::from_secs(3);
    let mut out = HashMap::new();
    for (leader, topics) in by_leader {
        let Some(ep) = metadata_cache.broker(leader).and_then(|b| b.endpoint(listener_name).map(|e| format!("{}:{}", e.host, e.port)))
        else {
            continue;
        };
        let req = ListOffsetsRequest {
            replica_id: -1,
            isolation_level: 0,
            topics: topics
                .into_iter()
                .map(|(name, ps)| ListOffsetsTopic {
                    name,
                    partitions: ps
                        .into_iter()
                        .map(|p| ListOffsetsPartition { partition_index: p, current_leader_epoch: -1, timestamp: -1, ..Default::default() })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let client_id = format!("broker-{broker_id}-group-lag");
        let answer = async {
            let mut conn = crate::client::BrokerConnection::connect_secured(&ep, &client_id, timeout, channel).await.ok()?;
            conn.send_timeout::<_, ListOffsetsResponse>(crate::client::admin::LIST_OFFSETS_VERSION, &req, timeout).await.ok()
        };
        if let Some(resp) = answer.await {
            for t in resp.topics {
                for p in t.partitions.into_iter().filter(|p| p.error_code == crate::protocol::error::NONE) {
                    out.insert(TopicPartition::new(t.name.clone(), p.partition_index), p.offset);
                }
            }
        }
    }
    out
}

/// The group gauges and lags; `remote_ends` has the end offsets of committed
/// partitions without a replica here (`remote_end_offsets`).
pub fn write(t: &mut MetricsText, gc: &GroupCoordinator, rm: &ReplicaManager, remote_ends: &HashMap<TopicPartition, i64>) {
    let (_, groups) = gc.list_groups(&[]);
    let mut by_state = [0u64; 5];
    let states = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"];
    let mut lags: Vec<GroupLag> = Vec::new();
    let mut num_offsets = 0u64;
    for (group, _, state) in &groups {
        if let Some(i) = states.iter().position(|s| s == state) {
            by_state[i] += 1;
        }
        let Ok(offsets) = gc.fetch_offsets(group, None) else { continue };
        num_offsets += offsets.len() as u64;
        let mut parts = Vec::new();
        for (tp, o) in offsets {
            let Some(o) = o else { continue };
            // The end offset as a consumer sees it: the high watermark, from
            // the replica here (the leader's is exact; a follower's trails
            // it by at most one fetch), else as its leader answered.
            let end = rm.get_partition(&tp).map(|p| p.high_watermark()).or_else(|| remote_ends.get(&tp).copied());
            parts.push((tp, o.offset, end));
        }
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        lags.push((group.clone(), parts));
    }
    t.single("kafka_coordinator_group_groupmetadatamanager_numgroups", Kind::Gauge, "NumGroups: groups this coordinator serves", groups.len() as f64);
    t.single("kafka_coordinator_group_groupmetadatamanager_numoffsets", Kind::Gauge, "NumOffsets: committed offsets this coordinator holds", num_offsets as f64);
    for (i, s) in states.iter().enumerate() {
        t.single(
            &format!("kafka_coordinator_group_groupmetadatamanager_numgroups{}", s.to_ascii_lowercase()),
            Kind::Gauge,
            &format!("NumGroups{s}: groups in state {s}"),
            by_state[i] as f64,
        );
    }
    let name = "kafka_consumergroup_current_offset";
    t.family(name, Kind::Gauge, "Committed offset of a consumer group on a partition (kafka_exporter's name)");
    for (group, parts) in &lags {
        for (tp, committed, _) in parts {
            t.sample(name, &[("consumergroup", group), ("topic", &tp.topic), ("partition", &tp.partition.to_string())], *committed as f64);
        }
    }
    let name = "kafka_consumergroup_lag";
    t.family(name, Kind::Gauge, "LAG of kafka-consumer-groups --describe: high watermark minus committed offset (kafka_exporter's name)");
    for (group, parts) in &lags {
        for (tp, committed, end) in parts {
            if let Some(l) = lag(*committed, *end) {
                t.sample(name, &[("consumergroup", group), ("topic", &tp.topic), ("partition", &tp.partition.to_string())], l as f64);
            }
        }
    }
    let name = "kafka_consumergroup_lag_sum";
    t.family(name, Kind::Gauge, "Total lag of a consumer group (kafka_exporter's name)");
    for (group, parts) in &lags {
        let sum: i64 = parts.iter().filter_map(|(_, c, e)| lag(*c, *e)).sum();
        t.sample(name, &[("consumergroup", group)], sum as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_as_the_tool_shows_it() {
        assert_eq!(lag(5, Some(12)), Some(7));
        assert_eq!(lag(12, Some(12)), Some(0));
        assert_eq!(lag(5, None), None);
        assert_eq!(lag(-1, Some(3)), None);
    }
}
