//! Kafka's `ReplicaManager` metrics (`kafka.server:type=ReplicaManager`):
//! the ISR shrink/expand meters, recorded where the leader decides the
//! change (`Partition`), and the partition gauges, computed from the
//! ReplicaManager's partitions at scrape time as Kafka's gauges are.

use super::{Kind, Meter, MetricsText};
use crate::server::replica_manager::ReplicaManager;

#[derive(Default)]
pub struct ReplicaManagerMeters {
    /// IsrShrinksPerSec / IsrExpandsPerSec.
    pub isr_shrinks: Meter,
    pub isr_expands: Meter,
    /// FailedIsrUpdatesPerSec: ISR writes to ZooKeeper that failed.
    pub failed_isr_updates: Meter,
}

/// The ReplicaManager's gauges over its partitions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReplicaManagerGauges {
    pub partition_count: u64,
    pub leader_count: u64,
    pub under_replicated: u64,
    pub under_min_isr: u64,
    pub at_min_isr: u64,
    pub offline_replicas: u64,
}

impl ReplicaManagerGauges {
    /// Adds one partition as Kafka's `Partition` gauges judge it: only the
    /// leader reports under-replication (ISR smaller than the replicas) and
    /// the min-ISR states.
    pub fn add(&mut self, is_leader: bool, isr: usize, replicas: usize, min_isr: i32) {
        self.partition_count += 1;
        if !is_leader {
            return;
        }
        self.leader_count += 1;
        if isr < replicas {
            self.under_replicated += 1;
        }
        let min_isr = min_isr.max(1) as usize;
        if isr < min_isr {
            self.under_min_isr += 1;
        } else if isr == min_isr {
            self.at_min_isr += 1;
        }
    }

    pub fn of(rm: &ReplicaManager) -> ReplicaManagerGauges {
        let mut g = ReplicaManagerGauges::default();
        for p in rm.all_partitions() {
            let s = p.state();
            g.add(p.is_leader(), s.isr.len(), s.replicas.len(), rm.min_isr(&p.tp.topic));
        }
        g
    }
}

/// A leader's ISR change took effect (Kafka marks IsrShrinksPerSec or
/// IsrExpandsPerSec when its ISR update succeeds).
pub fn isr_changed(old_size: usize, new_size: usize) {
    let m = &super::metrics().replica_manager;
    if new_size < old_size {
        m.isr_shrinks.mark(1);
    } else if new_size > old_size {
        m.isr_expands.mark(1);
    }
}

/// Kafka's per-partition gauges (`kafka.cluster:type=Partition,name=
/// UnderReplicated|UnderMinIsr|AtMinIsr|ReplicasCount|InSyncReplicasCount,
/// topic=t,partition=p`): non-zero only on the partition's leader.
fn write_partition_gauges(t: &mut MetricsText, rm: &ReplicaManager) {
    let mut rows = Vec::new();
    for p in rm.all_partitions() {
        let s = p.state();
        let (isr, replicas) = if p.is_leader() { (s.isr.len(), s.replicas.len()) } else { (0, 0) };
        let min_isr = rm.min_isr(&p.tp.topic).max(1) as usize;
        let leader = p.is_leader();
        rows.push((p.tp.clone(), [
            (leader && isr < replicas) as u64,
            (leader && isr < min_isr) as u64,
            (leader && isr == min_isr) as u64,
            replicas as u64,
            isr as u64,
        ]));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let names = [
        ("underreplicated", "UnderReplicated: 1 when led here with an ISR smaller than the replicas"),
        ("underminisr", "UnderMinIsr: 1 when led here with fewer in-sync replicas than min.insync.replicas"),
        ("atminisr", "AtMinIsr: 1 when led here with exactly min.insync.replicas in sync"),
        ("replicascount", "ReplicasCount: replicas (on the leader)"),
        ("insyncreplicascount", "InSyncReplicasCount: in-sync replicas (on the leader)"),
    ];
    for (i, (part, help)) in names.iter().enumerate() {
        let name = format!("kafka_cluster_partition_{part}");
        t.family(&name, Kind::Gauge, help);
        for (tp, v) in &rows {
            t.sample(&name, &[("topic", &tp.topic), ("partition", &tp.partition.to_string())], v[i] as f64);
        }
    }
}

pub fn write(t: &mut MetricsText, rm: &ReplicaManager) {
    write_partition_gauges(t, rm);
    let g = ReplicaManagerGauges::of(rm);
    let m = &super::metrics().replica_manager;
    let gauges: [(&str, &str, u64); 7] = [
        ("partitioncount", "PartitionCount: partitions hosted here", g.partition_count),
        ("leadercount", "LeaderCount: partitions led here", g.leader_count),
        ("underreplicatedpartitions", "UnderReplicatedPartitions: led here with an ISR smaller than the replicas", g.under_replicated),
        ("underminisrpartitioncount", "UnderMinIsrPartitionCount: led here with fewer in-sync replicas than min.insync.replicas", g.under_min_isr),
        ("atminisrpartitioncount", "AtMinIsrPartitionCount: led here with exactly min.insync.replicas in sync", g.at_min_isr),
        ("offlinereplicacount", "OfflineReplicaCount: replicas on failed log dirs", g.offline_replicas),
        ("reassigningpartitions", "ReassigningPartitions: (not tracked by the broker in zkafka; the controller knows)", 0),
    ];
    for (part, help, v) in gauges {
        t.single(&format!("kafka_server_replicamanager_{part}"), Kind::Gauge, help, v as f64);
    }
    let meters: [(&str, &str, &Meter); 3] = [
        ("isrshrinks", "IsrShrinksPerSec: ISR shrinks decided by leaders here", &m.isr_shrinks),
        ("isrexpands", "IsrExpandsPerSec: ISR expansions decided by leaders here", &m.isr_expands),
        ("failedisrupdates", "FailedIsrUpdatesPerSec: ISR writes that failed", &m.failed_isr_updates),
    ];
    for (part, help, meter) in meters {
        t.single(&format!("kafka_server_replicamanager_{part}_total"), Kind::Counter, help, meter.count() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_count_as_kafka_does() {
        let mut g = ReplicaManagerGauges::default();
        g.add(true, 3, 3, 2); // healthy
        g.add(true, 2, 3, 2); // under-replicated, at min ISR
        g.add(true, 1, 3, 2); // under-replicated, under min ISR
        g.add(false, 1, 3, 2); // a follower does not report
        assert_eq!(
            g,
            ReplicaManagerGauges {
                partition_count: 4,
                leader_count: 3,
                under_replicated: 2,
                under_min_isr: 1,
                at_min_isr: 1,
                offline_replicas: 0
            }
        );
    }
}
