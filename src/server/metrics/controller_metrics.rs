//! Kafka's controller metrics: `KafkaController`'s gauges
//! (`kafka.controller:type=KafkaController,name=ActiveControllerCount|
//! OfflinePartitionsCount|PreferredReplicaImbalanceCount|GlobalTopicCount|
//! GlobalPartitionCount|ControllerState|...`), `ControllerEventManager`'s
//! `EventQueueSize`, and `ControllerStats` (one `<State>RateAndTimeMs` timer
//! per `ControllerState`, `LeaderElectionRateAndTimeMs` for broker changes,
//! `UncleanLeaderElectionsPerSec`). As in Kafka's `KafkaController.
//! updateMetrics`, the gauges are recomputed from the controller's context
//! after each event, and are 0 on a broker that is not the controller.

use super::histogram::Histogram;
use super::{Kind, Meter, MetricsText};
use crate::controller::{ControllerContext, ControllerEvent, PartitionState};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// Kafka's `ControllerState`s: (value, name, timer name in ControllerStats).
pub const CONTROLLER_STATES: [(i64, &str, Option<&str>); 18] = [
    (0, "Idle", None),
    (1, "ControllerChange", Some("ControllerChangeRateAndTimeMs")),
    (2, "BrokerChange", Some("LeaderElectionRateAndTimeMs")),
    (3, "TopicChange", Some("TopicChangeRateAndTimeMs")),
    (4, "TopicDeletion", Some("TopicDeletionRateAndTimeMs")),
    (5, "AlterPartitionReassignment", Some("PartitionReassignmentRateAndTimeMs")),
    (6, "AutoLeaderBalance", Some("AutoLeaderBalanceRateAndTimeMs")),
    (7, "ManualLeaderBalance", Some("ManualLeaderBalanceRateAndTimeMs")),
    (8, "ControlledShutdown", Some("ControlledShutdownRateAndTimeMs")),
    (9, "IsrChange", Some("IsrChangeRateAndTimeMs")),
    (10, "LeaderAndIsrResponseReceived", Some("LeaderAndIsrResponseReceivedRateAndTimeMs")),
    (11, "LogDirChange", Some("LogDirChangeRateAndTimeMs")),
    (12, "ControllerShutdown", Some("ControllerShutdownRateAndTimeMs")),
    (13, "UncleanLeaderElectionEnable", Some("UncleanLeaderElectionEnableRateAndTimeMs")),
    (14, "TopicUncleanLeaderElectionEnable", Some("TopicUncleanLeaderElectionEnableRateAndTimeMs")),
    (15, "ListPartitionReassignment", Some("ListPartitionReassignmentRateAndTimeMs")),
    (16, "UpdateMetadataResponseReceived", None),
    (17, "UpdateFeatures", Some("UpdateFeaturesRateAndTimeMs")),
];

/// The `ControllerState` an event puts the controller in (Kafka's `event.state`).
pub fn state_of(event: &ControllerEvent) -> usize {
    use ControllerEvent::*;
    match event {
        Startup | ControllerChange | Reelect | SessionReinitialized => 1,
        BrokerChange | BrokerModifications(_) => 2,
        TopicChange | PartitionModifications(_) => 3,
        TopicDeletion | TopicDeletionStopReplicaResponseReceived { .. } => 4,
        ZkPartitionReassignment { .. } | PartitionReassignmentIsrChange(_) | ApiPartitionReassignment { .. } => 5,
        AutoPreferredReplicaLeaderElection => 6,
        PreferredReplicaElection | ReplicaLeaderElection { .. } => 7,
        ControlledShutdown { .. } => 8,
        IsrChangeNotification => 9,
        LeaderAndIsrResponseReceived { .. } => 10,
        Shutdown => 12,
        UncleanLeaderElectionEnable => 13,
        TopicUncleanLeaderElectionEnable(_) => 14,
        ListPartitionReassignments { .. } => 15,
    }
}

/// The gauges Kafka's `updateMetrics` computes from the context.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct ControllerGauges {
    pub offline_partitions: i64,
    pub preferred_replica_imbalance: i64,
    pub global_topics: i64,
    pub global_partitions: i64,
    pub topics_to_delete: i64,
    pub topics_ineligible_to_delete: i64,
}

impl ControllerGauges {
    pub fn of(ctx: &ControllerContext) -> ControllerGauges {
        let mut g = ControllerGauges {
            global_topics: ctx.all_topics.len() as i64,
            topics_to_delete: ctx.topics_to_be_deleted.len() as i64,
            topics_ineligible_to_delete: ctx.topics_ineligible_for_deletion.len() as i64,
            ..Default::default()
        };
        for (topic, parts) in &ctx.partition_assignments {
            g.global_partitions += parts.len() as i64;
            if ctx.topics_to_be_deleted.contains(topic) {
                continue;
            }
            for (p, a) in parts {
                let tp = crate::common::TopicPartition::new(topic.clone(), *p);
                if ctx.partition_states.get(&tp) == Some(&PartitionState::OfflinePartition) {
                    g.offline_partitions += 1;
                }
                let preferred = a.replicas.first().copied();
                let leader = ctx.partition_leadership_info.get(&tp).map(|l| l.leader_and_isr.leader);
                if preferred.is_some() && leader.is_some() && preferred != leader {
                    g.preferred_replica_imbalance += 1;
                }
            }
        }
        g
    }
}

pub struct ControllerMetrics {
    state: AtomicI64,
    event_queue_size: AtomicI64,
    offline_partitions: AtomicI64,
    preferred_replica_imbalance: AtomicI64,
    global_topics: AtomicI64,
    global_partitions: AtomicI64,
    topics_to_delete: AtomicI64,
    topics_ineligible_to_delete: AtomicI64,
    /// ControllerStats: one timer per state (index = state value).
    timers: Vec<Histogram>,
    pub unclean_leader_elections: Meter,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        ControllerMetrics {
            state: AtomicI64::new(0),
            event_queue_size: AtomicI64::new(0),
            offline_partitions: AtomicI64::new(0),
            preferred_replica_imbalance: AtomicI64::new(0),
            global_topics: AtomicI64::new(0),
            global_partitions: AtomicI64::new(0),
            topics_to_delete: AtomicI64::new(0),
            topics_ineligible_to_delete: AtomicI64::new(0),
            timers: CONTROLLER_STATES.iter().map(|_| Histogram::timer()).collect(),
            unclean_leader_elections: Meter::default(),
        }
    }
}

/// One event being processed by the controller.
pub struct EventTimer {
    state: usize,
    start: Instant,
}

/// The controller takes an event off its queue (`queued` still waiting).
pub fn event_started(event: &ControllerEvent, queued: usize) -> EventTimer {
    let m = &super::metrics().controller;
    let state = state_of(event);
    m.state.store(CONTROLLER_STATES[state].0, Ordering::Relaxed);
    m.event_queue_size.store(queued as i64, Ordering::Relaxed);
    EventTimer { state, start: Instant::now() }
}

impl EventTimer {
    /// The event is processed: its time goes to ControllerStats and the
    /// gauges are recomputed (0 unless `active`).
    pub fn done(self, ctx: &ControllerContext, active: bool, queued: usize) {
        let m = &super::metrics().controller;
        m.timers[self.state].record_duration(self.start.elapsed());
        let g = if active { ControllerGauges::of(ctx) } else { ControllerGauges::default() };
        m.offline_partitions.store(g.offline_partitions, Ordering::Relaxed);
        m.preferred_replica_imbalance.store(g.preferred_replica_imbalance, Ordering::Relaxed);
        m.global_topics.store(g.global_topics, Ordering::Relaxed);
        m.global_partitions.store(g.global_partitions, Ordering::Relaxed);
        m.topics_to_delete.store(g.topics_to_delete, Ordering::Relaxed);
        m.topics_ineligible_to_delete.store(g.topics_ineligible_to_delete, Ordering::Relaxed);
        m.state.store(0, Ordering::Relaxed);
        m.event_queue_size.store(queued as i64, Ordering::Relaxed);
    }
}

impl ControllerMetrics {
    /// `active`: whether this broker is the controller now (Kafka's
    /// ActiveControllerCount, read from the controller at scrape time).
    pub fn write(&self, t: &mut MetricsText, active: bool) {
        let gauges: [(&str, &str, i64); 8] = [
            ("activecontrollercount", "ActiveControllerCount: 1 on the controller", active as i64),
            ("offlinepartitionscount", "OfflinePartitionsCount: partitions without a live leader", self.offline_partitions.load(Ordering::Relaxed)),
            (
                "preferredreplicaimbalancecount",
                "PreferredReplicaImbalanceCount: partitions not led by their preferred replica",
                self.preferred_replica_imbalance.load(Ordering::Relaxed),
            ),
            ("globaltopiccount", "GlobalTopicCount", self.global_topics.load(Ordering::Relaxed)),
            ("globalpartitioncount", "GlobalPartitionCount", self.global_partitions.load(Ordering::Relaxed)),
            ("topicstodeletecount", "TopicsToDeleteCount", self.topics_to_delete.load(Ordering::Relaxed)),
            ("topicsineligibletodeletecount", "TopicsIneligibleToDeleteCount", self.topics_ineligible_to_delete.load(Ordering::Relaxed)),
            ("controllerstate", "ControllerState: the ControllerState value of the event being processed (0 = Idle)", self.state.load(Ordering::Relaxed)),
        ];
        for (part, help, v) in gauges {
            t.single(&format!("kafka_controller_kafkacontroller_{part}"), Kind::Gauge, help, v as f64);
        }
        t.single(
            "kafka_controller_controllereventmanager_eventqueuesize",
            Kind::Gauge,
            "EventQueueSize: events waiting in the controller's queue",
            self.event_queue_size.load(Ordering::Relaxed) as f64,
        );
        for ((_, state, timer), h) in CONTROLLER_STATES.iter().zip(&self.timers) {
            if let Some(timer) = timer {
                let name = format!("kafka_controller_controllerstats_{}", timer.to_ascii_lowercase());
                t.histogram_families(&name, &format!("{timer}: time to process {state} events"), [(Vec::new(), h)]);
            }
        }
        t.single(
            "kafka_controller_controllerstats_uncleanleaderelections_total",
            Kind::Counter,
            "UncleanLeaderElectionsPerSec: leaders elected from outside the ISR",
            self.unclean_leader_elections.count() as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::TopicPartition;
    use crate::zk::{LeaderAndIsr, LeaderIsrAndControllerEpoch, ReplicaAssignment};

    #[test]
    fn gauges_from_the_context() {
        let mut ctx = ControllerContext::default();
        ctx.all_topics.insert("t".into());
        let mut parts = std::collections::BTreeMap::new();
        for p in 0..3 {
            parts.insert(p, ReplicaAssignment { replicas: vec![1, 2], adding_replicas: vec![], removing_replicas: vec![] });
        }
        ctx.partition_assignments.insert("t".into(), parts);
        let lead = |leader| LeaderIsrAndControllerEpoch {
            leader_and_isr: LeaderAndIsr { leader, leader_epoch: 0, isr: vec![leader], zk_version: 0 },
            controller_epoch: 1,
        };
        ctx.partition_leadership_info.insert(TopicPartition::new("t", 0), lead(1));
        ctx.partition_leadership_info.insert(TopicPartition::new("t", 1), lead(2));
        ctx.partition_leadership_info.insert(TopicPartition::new("t", 2), lead(-1));
        ctx.partition_states.insert(TopicPartition::new("t", 2), PartitionState::OfflinePartition);
        let g = ControllerGauges::of(&ctx);
        assert_eq!(g.global_topics, 1);
        assert_eq!(g.global_partitions, 3);
        assert_eq!(g.offline_partitions, 1);
        // Partition 1 (leader 2, preferred 1) and the leaderless 2.
        assert_eq!(g.preferred_replica_imbalance, 2);
    }

    #[test]
    fn broker_changes_are_timed_as_leader_elections() {
        assert_eq!(CONTROLLER_STATES[state_of(&ControllerEvent::BrokerChange)].2, Some("LeaderElectionRateAndTimeMs"));
        assert_eq!(CONTROLLER_STATES[state_of(&ControllerEvent::IsrChangeNotification)].1, "IsrChange");
        for (i, (v, _, _)) in CONTROLLER_STATES.iter().enumerate() {
            assert_eq!(*v, i as i64);
        }
    }
}
