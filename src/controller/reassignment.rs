//! Partition reassignment decisions, Kafka's `KafkaController` reassignment (KIP-455):
//! pure functions from the controller's view of one partition (its full
//! assignment RS/AR/RR, leader and ISR, live brokers, the requested target)
//! to the plan the controller executes (ZooKeeper writes, state-machine
//! transitions, broker requests), in Kafka 2.8's order.
//!
//! Notation (as in Kafka): RS = replicas in the topic znode, ORS = original
//! replicas (RS − AR), TRS = target replicas (RS − RR), AR = adding replicas
//! (TRS − ORS), RR = removing replicas (ORS − TRS). While a partition moves,
//! RS = distinct(TRS ++ ORS).
//!
//! `on_partition_reassignment` is Kafka's `onPartitionReassignment`:
//! phase U (`updateCurrentReassignment`) always, then phase A when TRS is not
//! yet in the ISR, or phase B (completion) when it is.

use crate::protocol::error as codes;
use crate::protocol::ErrorCode;
use crate::zk::zk_data::ReplicaAssignment;
use std::collections::BTreeSet;

/// Kafka's `ReplicaAssignment.reassignTo`: RS' = distinct(target ++ ORS),
/// AR = RS' − ORS, RR = RS' − target. A partition already moving is
/// re-targeted against its original replicas.
pub fn reassign_to(current: &ReplicaAssignment, target: &[i32]) -> ReplicaAssignment {
    let origin = current.original_replicas();
    let mut full: Vec<i32> = Vec::new();
    for r in target.iter().chain(origin.iter()) {
        if !full.contains(r) {
            full.push(*r);
        }
    }
    ReplicaAssignment {
        adding_replicas: full.iter().copied().filter(|r| !origin.contains(r)).collect(),
        removing_replicas: full.iter().copied().filter(|r| !target.contains(r)).collect(),
        replicas: full,
    }
}

/// Kafka's `maybeBuildReassignment`: `None` target means cancel, which is
/// only possible for a partition that is moving (its target becomes ORS);
/// `None` result = nothing to cancel (NO_REASSIGNMENT_IN_PROGRESS).
pub fn build_reassignment(current: &ReplicaAssignment, target: Option<&[i32]>) -> Option<ReplicaAssignment> {
    match target {
        Some(t) => Some(reassign_to(current, t)),
        None if current.is_being_reassigned() => Some(reassign_to(current, &current.original_replicas())),
        None => None,
    }
}

/// Kafka's `validateReplicas`: a target must be non-empty, without
/// duplicates or negative ids, and every replica it adds must be on a live
/// broker. The error is INVALID_REPLICA_ASSIGNMENT with Kafka's message.
pub fn validate_replicas(
    current: &ReplicaAssignment,
    target: &[i32],
    live_brokers: &BTreeSet<i32>,
) -> Result<(), (ErrorCode, String)> {
    let set: BTreeSet<i32> = target.iter().copied().collect();
    if target.is_empty() {
        return Err((codes::INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition reassignment.".into()));
    }
    if set.len() != target.len() {
        return Err((
            codes::INVALID_REPLICA_ASSIGNMENT,
            format!("Duplicate replica ids in partition reassignment replica list: {}", fmt_list(target)),
        ));
    }
    if target.iter().any(|r| *r < 0) {
        return Err((codes::INVALID_REPLICA_ASSIGNMENT, format!("Invalid broker id in replica list: {}", fmt_list(target))));
    }
    let adding = reassign_to(current, target).adding_replicas;
    if !adding.iter().all(|r| live_brokers.contains(r)) {
        let live: Vec<i32> = live_brokers.iter().copied().collect();
        return Err((
            codes::INVALID_REPLICA_ASSIGNMENT,
            format!(
                "Replica assignment has brokers that are not alive. Replica list: {}, live broker list: {}",
                fmt_list(&adding),
                fmt_list(&live)
            ),
        ));
    }
    Ok(())
}

/// Scala's `Seq.toString` look, as in Kafka's messages: `List(1, 2, 3)`.
fn fmt_list(v: &[i32]) -> String {
    format!("List({})", v.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "))
}

/// Kafka's `isReassignmentComplete`: a partition that is not moving is
/// complete; a moving one is when every target replica is in the ISR read
/// from ZooKeeper (`None` = no state znode: not complete).
pub fn is_reassignment_complete(a: &ReplicaAssignment, isr: Option<&[i32]>) -> bool {
    if !a.is_being_reassigned() {
        return true;
    }
    match isr {
        Some(isr) => a.target_replicas().iter().all(|r| isr.contains(r)),
        None => false,
    }
}

/// One step of a reassignment plan, executed in order by the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// U1 / B6: write this partition's RS/AR/RR into `/brokers/topics/<t>` (fenced).
    WriteAssignment(ReplicaAssignment),
    /// U2 / B2: the controller's in-memory assignment becomes this.
    SetAssignment(ReplicaAssignment),
    /// Arm the data watch on the partition's `state` znode and mark the
    /// partition as being reassigned (its topic becomes ineligible for deletion).
    MarkReassigning,
    /// A1, and B3 when the leader stays: leader_epoch + 1 in the state znode
    /// (same leader and ISR) and LeaderAndIsr with the in-memory RS/AR/RR to
    /// every replica of the in-memory assignment.
    BumpLeaderEpoch,
    /// A2: these replicas go NewReplica (LeaderAndIsr with is_new to each).
    StartNewReplicas(Vec<i32>),
    /// B1: these replicas go OnlineReplica.
    OnlineReplicas(Vec<i32>),
    /// B3: elect a leader with the Reassign strategy (first live ISR member of TRS).
    ElectLeader,
    /// U3 / B4-B5: OfflineReplica (StopReplica delete=false, removed from the
    /// ISR with a leader-epoch bump), then StopReplica delete=true, then
    /// NonExistentReplica.
    RemoveReplicas(Vec<i32>),
    /// B7: unmark the partition, drop the ISR watch, remove its entry from
    /// `/admin/reassign_partitions` when that entry asks for exactly these
    /// replicas (the znode is deleted when empty).
    CompleteReassignment { target: Vec<i32> },
    /// B8: UpdateMetadata for the partition to every live broker.
    UpdateMetadata,
    /// B8: topic deletion may resume if it waited for this reassignment.
    ResumeTopicDeletion,
}

/// What the planner needs to know about one partition.
#[derive(Debug, Clone)]
pub struct PartitionView {
    /// The controller's current full assignment (RS, AR, RR).
    pub current: ReplicaAssignment,
    /// Leader and ISR as read from ZooKeeper (`None` without a state znode).
    pub leader_and_isr: Option<(i32, Vec<i32>)>,
}

/// Kafka's `onPartitionReassignment(tp, reassignment)`: the full plan for
/// moving a partition whose assignment is `view.current` towards `reassignment`
/// (built with `build_reassignment`). `is_online(b)` says whether broker b is
/// alive (and not shutting down, for leadership).
pub fn on_partition_reassignment(
    view: &PartitionView,
    reassignment: &ReplicaAssignment,
    is_online: impl Fn(i32) -> bool,
) -> Vec<Effect> {
    let mut plan = Vec::new();
    // Phase U: updateCurrentReassignment.
    if view.current != *reassignment {
        plan.push(Effect::WriteAssignment(reassignment.clone()));
        plan.push(Effect::SetAssignment(reassignment.clone()));
        // Replicas an earlier reassignment was adding and this one no longer needs.
        let unneeded: Vec<i32> = view.current.replicas.iter().copied().filter(|r| !reassignment.replicas.contains(r)).collect();
        if !unneeded.is_empty() {
            plan.push(Effect::RemoveReplicas(unneeded));
        }
    }
    plan.push(Effect::MarkReassigning);
    let isr = view.leader_and_isr.as_ref().map(|(_, isr)| isr.as_slice());
    if !is_reassignment_complete(reassignment, isr) {
        // Phase A.
        plan.push(Effect::BumpLeaderEpoch);
        if !reassignment.adding_replicas.is_empty() {
            plan.push(Effect::StartNewReplicas(reassignment.adding_replicas.clone()));
        }
        return plan;
    }
    // Phase B.
    if !reassignment.adding_replicas.is_empty() {
        plan.push(Effect::OnlineReplicas(reassignment.adding_replicas.clone()));
    }
    let target = reassignment.target_replicas();
    let completed = ReplicaAssignment::new(target.clone());
    plan.push(Effect::SetAssignment(completed.clone()));
    // moveReassignedPartitionLeaderIfRequired.
    match view.leader_and_isr.as_ref().map(|(l, _)| *l) {
        Some(leader) if target.contains(&leader) && is_online(leader) => plan.push(Effect::BumpLeaderEpoch),
        _ => plan.push(Effect::ElectLeader),
    }
    if !reassignment.removing_replicas.is_empty() {
        plan.push(Effect::RemoveReplicas(reassignment.removing_replicas.clone()));
    }
    plan.push(Effect::WriteAssignment(completed));
    plan.push(Effect::CompleteReassignment { target });
    plan.push(Effect::UpdateMetadata);
    plan.push(Effect::ResumeTopicDeletion);
    plan
}

/// Kafka's `shouldResume` for a broker startup: reassignments whose target
/// contains one of the new brokers are driven again.
pub fn resume_on_broker_startup(a: &ReplicaAssignment, new_brokers: &BTreeSet<i32>) -> bool {
    a.is_being_reassigned() && a.target_replicas().iter().any(|r| new_brokers.contains(r))
}

/// Kafka's `maybeRemoveFromZkReassignment` predicate for a completed
/// partition: its legacy-znode entry goes when it asks for exactly `target`.
pub fn zk_entry_completed(entry: &[i32], target: &[i32]) -> bool {
    entry == target
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::election;

    fn ra(replicas: &[i32], adding: &[i32], removing: &[i32]) -> ReplicaAssignment {
        ReplicaAssignment { replicas: replicas.to_vec(), adding_replicas: adding.to_vec(), removing_replicas: removing.to_vec() }
    }

    /// A model of the partition: what ZooKeeper and the brokers hold. The
    /// effects are applied the way the controller executes them.
    #[derive(Debug, Clone)]
    struct Model {
        znode: ReplicaAssignment,
        memory: ReplicaAssignment,
        leader: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
        hosting: BTreeSet<i32>,
        reassigning: bool,
        deleted_dirs: Vec<i32>,
    }

    impl Model {
        fn new(replicas: &[i32]) -> Model {
            Model {
                znode: ReplicaAssignment::new(replicas.to_vec()),
                memory: ReplicaAssignment::new(replicas.to_vec()),
                leader: replicas[0],
                leader_epoch: 0,
                isr: replicas.to_vec(),
                hosting: replicas.iter().copied().collect(),
                reassigning: false,
                deleted_dirs: vec![],
            }
        }
        fn view(&self) -> PartitionView {
            PartitionView { current: self.memory.clone(), leader_and_isr: Some((self.leader, self.isr.clone())) }
        }
        fn apply(&mut self, plan: &[Effect], live: &dyn Fn(i32) -> bool) {
            for e in plan {
                match e {
                    Effect::WriteAssignment(a) => self.znode = a.clone(),
                    Effect::SetAssignment(a) => self.memory = a.clone(),
                    Effect::MarkReassigning => self.reassigning = true,
                    Effect::BumpLeaderEpoch => self.leader_epoch += 1,
                    Effect::StartNewReplicas(rs) => self.hosting.extend(rs.iter().filter(|r| live(**r))),
                    Effect::OnlineReplicas(_) => {}
                    Effect::ElectLeader => {
                        let (l, isr) = election::reassign_partition_leader_election(&self.memory.target_replicas(), &self.isr, live)
                            .expect("an eligible leader");
                        self.leader = l;
                        self.isr = isr;
                        self.leader_epoch += 1;
                    }
                    Effect::RemoveReplicas(rs) => {
                        for r in rs {
                            if let Some((l, isr)) = crate::controller::replica_state_machine::isr_without_replica(self.leader, &self.isr, *r) {
                                self.leader = l;
                                self.isr = isr;
                                self.leader_epoch += 1;
                            }
                            self.hosting.remove(r);
                            self.deleted_dirs.push(*r);
                        }
                    }
                    Effect::CompleteReassignment { .. } => self.reassigning = false,
                    Effect::UpdateMetadata | Effect::ResumeTopicDeletion => {}
                }
            }
        }
        /// Followers that host the partition catch up and the leader adds them.
        fn catch_up(&mut self, live: &dyn Fn(i32) -> bool) {
            for r in self.hosting.clone() {
                if live(r) && !self.isr.contains(&r) {
                    self.isr.push(r);
                }
            }
        }
    }

    #[test]
    fn reassign_to_rules() {
        // ORS {1,2,3} -> TRS {4,5,6}: RS = target first, then the originals.
        let a = reassign_to(&ReplicaAssignment::new(vec![1, 2, 3]), &[4, 5, 6]);
        assert_eq!(a, ra(&[4, 5, 6, 1, 2, 3], &[4, 5, 6], &[1, 2, 3]));
        assert_eq!(a.original_replicas(), vec![1, 2, 3]);
        assert_eq!(a.target_replicas(), vec![4, 5, 6]);
        // Overlapping sets: {1,2,3} -> {2,3,4}.
        assert_eq!(reassign_to(&ReplicaAssignment::new(vec![1, 2, 3]), &[2, 3, 4]), ra(&[2, 3, 4, 1], &[4], &[1]));
        // Only the order changes: nothing added or removed.
        assert_eq!(reassign_to(&ReplicaAssignment::new(vec![1, 2, 3]), &[3, 1, 2]), ra(&[3, 1, 2], &[], &[]));
    }

    #[test]
    fn new_target_for_a_moving_partition_is_computed_against_ors() {
        let moving = ra(&[4, 5, 6, 1, 2, 3], &[4, 5, 6], &[1, 2, 3]);
        let again = reassign_to(&moving, &[3, 4, 7]);
        assert_eq!(again, ra(&[3, 4, 7, 1, 2], &[4, 7], &[1, 2]));
        // 5 and 6 were being added and are no longer needed: U3 removes them.
        let view = PartitionView { current: moving.clone(), leader_and_isr: Some((1, vec![1, 2, 3, 4])) };
        let plan = on_partition_reassignment(&view, &again, |_| true);
        assert_eq!(
            plan,
            vec![
                Effect::WriteAssignment(again.clone()),
                Effect::SetAssignment(again.clone()),
                Effect::RemoveReplicas(vec![5, 6]),
                Effect::MarkReassigning,
                Effect::BumpLeaderEpoch,
                Effect::StartNewReplicas(vec![4, 7]),
            ]
        );
    }

    #[test]
    fn ors_123_to_trs_456_step_by_step() {
        let live = |_r: i32| true;
        let mut m = Model::new(&[1, 2, 3]);
        let target = build_reassignment(&m.memory, Some(&[4, 5, 6])).unwrap();
        // Step 1 (U + A): RS {4,5,6,1,2,3}, AR {4,5,6}, RR {1,2,3} written, new replicas started.
        let plan = on_partition_reassignment(&m.view(), &target, live);
        assert_eq!(
            plan,
            vec![
                Effect::WriteAssignment(target.clone()),
                Effect::SetAssignment(target.clone()),
                Effect::MarkReassigning,
                Effect::BumpLeaderEpoch,
                Effect::StartNewReplicas(vec![4, 5, 6]),
            ]
        );
        m.apply(&plan, &live);
        assert_eq!(m.znode, ra(&[4, 5, 6, 1, 2, 3], &[4, 5, 6], &[1, 2, 3]));
        assert_eq!((m.leader, m.leader_epoch, m.reassigning), (1, 1, true));
        assert_eq!(m.hosting, BTreeSet::from([1, 2, 3, 4, 5, 6]));
        // Step 2: only 4 has caught up: an ISR change re-runs the plan, still phase A
        // (no znode write: the assignment did not change).
        m.isr.push(4);
        let plan = on_partition_reassignment(&m.view(), &m.memory.clone(), live);
        assert_eq!(plan, vec![Effect::MarkReassigning, Effect::BumpLeaderEpoch, Effect::StartNewReplicas(vec![4, 5, 6])]);
        // Step 3: ISR grows to all six: phase B.
        m.catch_up(&live);
        assert_eq!(m.isr, vec![1, 2, 3, 4, 5, 6]);
        let plan = on_partition_reassignment(&m.view(), &m.memory.clone(), live);
        let done = ReplicaAssignment::new(vec![4, 5, 6]);
        assert_eq!(
            plan,
            vec![
                Effect::MarkReassigning,
                Effect::OnlineReplicas(vec![4, 5, 6]),
                Effect::SetAssignment(done.clone()),
                // Leader 1 is not in TRS: leader moves to 4.
                Effect::ElectLeader,
                Effect::RemoveReplicas(vec![1, 2, 3]),
                Effect::WriteAssignment(done.clone()),
                Effect::CompleteReassignment { target: vec![4, 5, 6] },
                Effect::UpdateMetadata,
                Effect::ResumeTopicDeletion,
            ]
        );
        m.apply(&plan, &live);
        assert_eq!(m.leader, 4);
        assert_eq!(m.isr, vec![4, 5, 6]);
        assert_eq!(m.znode, done);
        assert_eq!(m.memory, done);
        assert!(!m.reassigning);
        assert_eq!(m.hosting, BTreeSet::from([4, 5, 6]));
        assert_eq!(m.deleted_dirs, vec![1, 2, 3]);
        // The removal must happen after the leader moved: the leader was never -1.
        assert!(m.leader_epoch >= 1 + 1 + 3);
    }

    #[test]
    fn leader_in_trs_stays_and_only_the_epoch_moves() {
        let live = |_r: i32| true;
        let current = ra(&[2, 3, 4, 1], &[4], &[1]);
        let view = PartitionView { current: current.clone(), leader_and_isr: Some((2, vec![2, 3, 1, 4])) };
        let plan = on_partition_reassignment(&view, &current, live);
        assert!(plan.contains(&Effect::BumpLeaderEpoch));
        assert!(!plan.contains(&Effect::ElectLeader));
        assert!(plan.contains(&Effect::RemoveReplicas(vec![1])));
        // The same partition with its leader in TRS but dead: elect.
        let plan = on_partition_reassignment(&view, &current, |r| r != 2);
        assert!(plan.contains(&Effect::ElectLeader));
    }

    #[test]
    fn leader_not_in_trs_is_moved_before_removal() {
        let current = ra(&[2, 3, 4, 1], &[4], &[1]);
        let view = PartitionView { current: current.clone(), leader_and_isr: Some((1, vec![1, 2, 3, 4])) };
        let plan = on_partition_reassignment(&view, &current, |_| true);
        let elect = plan.iter().position(|e| *e == Effect::ElectLeader).unwrap();
        let remove = plan.iter().position(|e| *e == Effect::RemoveReplicas(vec![1])).unwrap();
        let write = plan.iter().position(|e| *e == Effect::WriteAssignment(ReplicaAssignment::new(vec![2, 3, 4]))).unwrap();
        assert!(elect < remove && remove < write, "{plan:?}");
        let mut m = Model::new(&[1, 2, 3]);
        m.memory = current.clone();
        m.znode = current;
        m.isr = vec![1, 2, 3, 4];
        m.hosting.insert(4);
        m.apply(&plan, &|_| true);
        assert_eq!((m.leader, m.isr.clone()), (2, vec![2, 3, 4]));
    }

    #[test]
    fn cancellation_restores_ors() {
        let moving = ra(&[4, 5, 6, 1, 2, 3], &[4, 5, 6], &[1, 2, 3]);
        let cancel = build_reassignment(&moving, None).unwrap();
        assert_eq!(cancel, ReplicaAssignment::new(vec![1, 2, 3]));
        let view = PartitionView { current: moving, leader_and_isr: Some((1, vec![1, 2, 3, 4])) };
        let plan = on_partition_reassignment(&view, &cancel, |_| true);
        assert_eq!(
            plan,
            vec![
                Effect::WriteAssignment(cancel.clone()),
                Effect::SetAssignment(cancel.clone()),
                Effect::RemoveReplicas(vec![4, 5, 6]),
                Effect::MarkReassigning,
                Effect::SetAssignment(cancel.clone()),
                Effect::BumpLeaderEpoch,
                Effect::WriteAssignment(cancel.clone()),
                Effect::CompleteReassignment { target: vec![1, 2, 3] },
                Effect::UpdateMetadata,
                Effect::ResumeTopicDeletion,
            ]
        );
        // ORS = RS - AR keeps RS's order (Kafka's `originReplicas`): cancelling
        // {1,2,3} -> {2,3,4} gives back the set {1,2,3} as [2,3,1].
        assert_eq!(build_reassignment(&ra(&[2, 3, 4, 1], &[4], &[1]), None), Some(ReplicaAssignment::new(vec![2, 3, 1])));
        // Nothing to cancel on a partition that is not moving.
        assert_eq!(build_reassignment(&ReplicaAssignment::new(vec![1, 2]), None), None);
    }

    #[test]
    fn dead_target_waits_in_phase_a() {
        // Validation refuses a dead broker in AR...
        let live: BTreeSet<i32> = [1, 2, 3].into();
        let cur = ReplicaAssignment::new(vec![1, 2, 3]);
        let e = validate_replicas(&cur, &[1, 2, 4], &live).unwrap_err();
        assert_eq!(e.0, codes::INVALID_REPLICA_ASSIGNMENT);
        assert_eq!(e.1, "Replica assignment has brokers that are not alive. Replica list: List(4), live broker list: List(1, 2, 3)");
        // ...but a dead broker that stays in the set is fine.
        assert!(validate_replicas(&cur, &[2, 3], &[2, 3].into()).is_ok());
        // A target broker that died mid-move (resumed after failover): stays in A.
        let moving = ra(&[2, 3, 4, 1], &[4], &[1]);
        let view = PartitionView { current: moving.clone(), leader_and_isr: Some((1, vec![1, 2, 3])) };
        let plan = on_partition_reassignment(&view, &moving, |r| r != 4);
        assert_eq!(plan, vec![Effect::MarkReassigning, Effect::BumpLeaderEpoch, Effect::StartNewReplicas(vec![4])]);
    }

    #[test]
    fn validation_messages() {
        let live: BTreeSet<i32> = [1, 2, 3].into();
        let cur = ReplicaAssignment::new(vec![1, 2]);
        assert_eq!(validate_replicas(&cur, &[], &live).unwrap_err().1, "Empty replica list specified in partition reassignment.");
        assert_eq!(
            validate_replicas(&cur, &[1, 1], &live).unwrap_err().1,
            "Duplicate replica ids in partition reassignment replica list: List(1, 1)"
        );
        assert_eq!(validate_replicas(&cur, &[1, -2], &live).unwrap_err().1, "Invalid broker id in replica list: List(1, -2)");
        assert!(validate_replicas(&cur, &[3, 1], &live).is_ok());
    }

    #[test]
    fn completion_and_resume_rules() {
        let moving = ra(&[2, 3, 4, 1], &[4], &[1]);
        assert!(!is_reassignment_complete(&moving, Some(&[1, 2, 3])));
        assert!(is_reassignment_complete(&moving, Some(&[1, 2, 3, 4])));
        assert!(!is_reassignment_complete(&moving, None));
        assert!(is_reassignment_complete(&ReplicaAssignment::new(vec![1]), None));
        assert!(resume_on_broker_startup(&moving, &[4].into()));
        assert!(resume_on_broker_startup(&moving, &[2].into()));
        assert!(!resume_on_broker_startup(&moving, &[1].into()));
        assert!(!resume_on_broker_startup(&ReplicaAssignment::new(vec![1, 2]), &[1].into()));
        assert!(zk_entry_completed(&[2, 3, 4], &[2, 3, 4]));
        assert!(!zk_entry_completed(&[4, 3, 2], &[2, 3, 4]));
    }
}
