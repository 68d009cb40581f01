//! Leader selection rules (Kafka's `kafka.controller.Election`): pure functions
//! from an assignment, the ISR and broker liveness to a leader and new ISR.

/// Kafka's `PartitionLeaderElectionStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionStrategy {
    /// Leader lost: first live ISR member in assignment order; unclean falls back to any live replica.
    Offline { allow_unclean: bool },
    /// Reassignment: first live ISR member of the target replicas.
    Reassign,
    /// Preferred replica (assignment head) if live and in ISR.
    Preferred,
    /// Move leadership off shutting-down brokers.
    ControlledShutdown,
}

/// The Kafka class of a strategy (for the event log of the live view).
pub fn kafka_strategy_name(s: ElectionStrategy) -> &'static str {
    match s {
        ElectionStrategy::Offline { .. } => "OfflinePartitionLeaderElectionStrategy",
        ElectionStrategy::Reassign => "ReassignPartitionLeaderElectionStrategy",
        ElectionStrategy::Preferred => "PreferredReplicaPartitionLeaderElectionStrategy",
        ElectionStrategy::ControlledShutdown => "ControlledShutdownPartitionLeaderElectionStrategy",
    }
}

/// Why a strategy's choice is the leader, in a learner's words.
pub fn why(s: ElectionStrategy) -> &'static str {
    match s {
        ElectionStrategy::Offline { .. } => "the first live replica, in assignment order, that is in the ISR",
        ElectionStrategy::Reassign => "the first live target replica that is in the ISR",
        ElectionStrategy::Preferred => "the preferred replica (first in the assignment), live and in the ISR",
        ElectionStrategy::ControlledShutdown => "the first in-sync replica not shutting down; shutting-down brokers leave the ISR",
    }
}

/// Offline election. Returns (leader, new ISR).
pub fn offline_partition_leader_election(
    assignment: &[i32],
    isr: &[i32],
    is_live: impl Fn(i32) -> bool,
    allow_unclean: bool,
) -> Option<(i32, Vec<i32>)> {
    if let Some(&leader) = assignment.iter().find(|r| is_live(**r) && isr.contains(r)) {
        let new_isr = isr.iter().copied().filter(|r| is_live(*r)).collect();
        return Some((leader, new_isr));
    }
    if allow_unclean {
        if let Some(&leader) = assignment.iter().find(|r| is_live(**r)) {
            return Some((leader, vec![leader]));
        }
    }
    None
}

/// Reassignment election over the target replicas; ISR unchanged.
pub fn reassign_partition_leader_election(target: &[i32], isr: &[i32], is_live: impl Fn(i32) -> bool) -> Option<(i32, Vec<i32>)> {
    target.iter().find(|r| is_live(**r) && isr.contains(r)).map(|&l| (l, isr.to_vec()))
}

/// Preferred election; ISR unchanged.
pub fn preferred_replica_partition_leader_election(assignment: &[i32], isr: &[i32], is_live: impl Fn(i32) -> bool) -> Option<(i32, Vec<i32>)> {
    assignment.first().filter(|r| is_live(**r) && isr.contains(r)).map(|&l| (l, isr.to_vec()))
}

/// Controlled-shutdown election: shutting-down brokers leave the ISR and cannot lead.
pub fn controlled_shutdown_partition_leader_election(
    assignment: &[i32],
    isr: &[i32],
    is_live_or_shutting_down: impl Fn(i32) -> bool,
    is_shutting_down: impl Fn(i32) -> bool,
) -> Option<(i32, Vec<i32>)> {
    let leader = assignment
        .iter()
        .copied()
        .find(|r| is_live_or_shutting_down(*r) && isr.contains(r) && !is_shutting_down(*r))?;
    Some((leader, isr.iter().copied().filter(|r| !is_shutting_down(*r)).collect()))
}

/// Whether an offline partition may elect an out-of-sync replica: an admin
/// UNCLEAN election always may; otherwise the topic's
/// `unclean.leader.election.enable` override wins over the broker default.
pub fn unclean_election_allowed(admin_unclean: bool, topic_override: Option<&str>, broker_default: bool) -> bool {
    admin_unclean
        || match topic_override.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            _ => broker_default,
        }
}

/// What the auto-rebalance check knows about one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLeadership<P> {
    pub partition: P,
    /// Assignment in order; its head is the preferred replica.
    pub replicas: Vec<i32>,
    /// Current leader and ISR, if the partition has a state znode.
    pub leader_and_isr: Option<(i32, Vec<i32>)>,
}

/// Kafka's leader-imbalance rule (`checkAndTriggerAutoLeaderRebalance`):
/// partitions are grouped by preferred broker B; when the share of B's
/// partitions not led by B exceeds `imbalance_percentage`%, those partitions
/// are moved back to B where B is live and in their ISR. Returns the
/// partitions to run a preferred election on, per broker in id order.
pub fn partitions_to_rebalance<P: Clone + Ord>(
    partitions: &[PartitionLeadership<P>],
    is_live: impl Fn(i32) -> bool,
    imbalance_percentage: i64,
) -> Vec<P> {
    use std::collections::BTreeMap;
    let mut by_preferred: BTreeMap<i32, Vec<&PartitionLeadership<P>>> = BTreeMap::new();
    for p in partitions {
        if let Some(&head) = p.replicas.first() {
            by_preferred.entry(head).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    for (broker, ps) in by_preferred {
        let not_led: Vec<&PartitionLeadership<P>> =
            ps.iter().copied().filter(|p| p.leader_and_isr.as_ref().is_some_and(|(l, _)| *l != broker)).collect();
        let ratio = not_led.len() as f64 / ps.len() as f64;
        if ratio <= imbalance_percentage as f64 / 100.0 {
            continue;
        }
        let mut chosen: Vec<P> = not_led
            .into_iter()
            .filter(|p| is_live(broker) && p.leader_and_isr.as_ref().is_some_and(|(_, isr)| isr.contains(&broker)))
            .map(|p| p.partition.clone())
            .collect();
        chosen.sort();
        out.extend(chosen);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pl(p: u32, replicas: &[i32], leader: i32, isr: &[i32]) -> PartitionLeadership<u32> {
        PartitionLeadership { partition: p, replicas: replicas.to_vec(), leader_and_isr: Some((leader, isr.to_vec())) }
    }

    #[test]
    fn unclean_resolution() {
        assert!(!unclean_election_allowed(false, None, false));
        assert!(unclean_election_allowed(false, None, true));
        assert!(unclean_election_allowed(false, Some("true"), false));
        assert!(!unclean_election_allowed(false, Some("false"), true));
        assert!(unclean_election_allowed(true, Some("false"), false));
        assert!(unclean_election_allowed(false, Some(" TRUE "), false));
        assert!(!unclean_election_allowed(false, Some("garbage"), false));
    }

    #[test]
    fn unclean_enabled_on_a_topic_elects_the_live_out_of_sync_replica() {
        // Replicas [1, 2]; the only ISR member 1 is down, 2 is live but out of sync.
        let live = |r: i32| r == 2;
        let (assignment, isr) = (vec![1, 2], vec![1]);
        let decide = |override_: Option<&str>, default: bool| {
            offline_partition_leader_election(&assignment, &isr, live, false).or_else(|| {
                unclean_election_allowed(false, override_, default)
                    .then(|| offline_partition_leader_election(&assignment, &isr, live, true))
                    .flatten()
            })
        };
        assert_eq!(decide(None, false), None, "clean only: stays offline");
        assert_eq!(decide(Some("true"), false), Some((2, vec![2])), "topic override on");
        assert_eq!(decide(None, true), Some((2, vec![2])), "broker default on");
        assert_eq!(decide(Some("false"), true), None, "topic override off wins over the default");
    }

    #[test]
    fn balanced_cluster_needs_nothing() {
        let ps = vec![pl(0, &[1, 2, 3], 1, &[1, 2, 3]), pl(1, &[2, 3, 1], 2, &[1, 2, 3]), pl(2, &[3, 1, 2], 3, &[1, 2, 3])];
        assert!(partitions_to_rebalance(&ps, |_| true, 10).is_empty());
    }

    #[test]
    fn restarted_broker_gets_its_leadership_back() {
        // Broker 1 restarted: its two partitions are led by 2 and 3, and it is back in the ISR of one.
        let ps = vec![
            pl(0, &[1, 2, 3], 2, &[2, 3, 1]),
            pl(1, &[1, 3, 2], 3, &[2, 3]),
            pl(2, &[2, 3, 1], 2, &[1, 2, 3]),
        ];
        assert_eq!(partitions_to_rebalance(&ps, |_| true, 10), vec![0]);
        // Dead preferred replica: nothing to do.
        assert!(partitions_to_rebalance(&ps, |b| b != 1, 10).is_empty());
    }

    #[test]
    fn ratio_must_exceed_the_threshold() {
        // 1 of 10 partitions preferring broker 1 is led elsewhere: 10% is not > 10%.
        let mut ps: Vec<_> = (0..9).map(|p| pl(p, &[1, 2], 1, &[1, 2])).collect();
        ps.push(pl(9, &[1, 2], 2, &[1, 2]));
        assert!(partitions_to_rebalance(&ps, |_| true, 10).is_empty());
        assert_eq!(partitions_to_rebalance(&ps, |_| true, 9), vec![9]);
        // 0% means any imbalance triggers.
        assert_eq!(partitions_to_rebalance(&ps, |_| true, 0), vec![9]);
    }

    #[test]
    fn partitions_without_state_count_as_led() {
        let ps = vec![
            PartitionLeadership { partition: 0u32, replicas: vec![1, 2], leader_and_isr: None },
            pl(1, &[1, 2], 2, &[1, 2]),
        ];
        // 1 of 2 not led: 50% > 10%.
        assert_eq!(partitions_to_rebalance(&ps, |_| true, 10), vec![1]);
        assert!(partitions_to_rebalance(&ps, |_| true, 50).is_empty());
    }

    #[test]
    fn controlled_shutdown_keeps_rf1_and_sole_isr_leaders() {
        let sd = |r: i32| r == 2;
        // RF=1 on the shutting-down broker: no one else can lead.
        assert_eq!(controlled_shutdown_partition_leader_election(&[2], &[2], |_| true, sd), None);
        // Others assigned but out of sync: leadership stays.
        assert_eq!(controlled_shutdown_partition_leader_election(&[2, 1, 3], &[2], |_| true, sd), None);
        // First in-sync replica in assignment order that is not shutting down; dead ones skipped.
        assert_eq!(controlled_shutdown_partition_leader_election(&[2, 1, 3], &[3, 2, 1], |r| r != 1, sd), Some((3, vec![3, 1])));
    }

    #[test]
    fn offline_election_follows_assignment_order_not_isr_order() {
        let live = |r: i32| r != 3;
        assert_eq!(offline_partition_leader_election(&[3, 2, 1], &[1, 2, 3], live, false), Some((2, vec![1, 2])));
        // Unclean with nobody live: still no leader.
        assert_eq!(offline_partition_leader_election(&[3], &[3], live, true), None);
    }

    #[test]
    fn offline() {
        let live = |r: i32| r != 1;
        assert_eq!(offline_partition_leader_election(&[1, 2, 3], &[1, 3], live, false), Some((3, vec![3])));
        assert_eq!(offline_partition_leader_election(&[1, 2, 3], &[1], live, false), None);
        assert_eq!(offline_partition_leader_election(&[1, 2, 3], &[1], live, true), Some((2, vec![2])));
    }

    #[test]
    fn others() {
        let live = |r: i32| r != 4;
        assert_eq!(reassign_partition_leader_election(&[4, 5], &[4, 5], live), Some((5, vec![4, 5])));
        assert_eq!(preferred_replica_partition_leader_election(&[2, 1], &[1, 2], live), Some((2, vec![1, 2])));
        assert_eq!(preferred_replica_partition_leader_election(&[2, 1], &[1], live), None);
        let sd = |r: i32| r == 1;
        assert_eq!(controlled_shutdown_partition_leader_election(&[1, 2], &[1, 2], |_| true, sd), Some((2, vec![2])));
        assert_eq!(controlled_shutdown_partition_leader_election(&[1], &[1], |_| true, sd), None);
    }
}
