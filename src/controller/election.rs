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

#[cfg(test)]
mod tests {
    use super::*;

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
