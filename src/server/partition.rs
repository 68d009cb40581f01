//! One partition hosted on this broker: its log, its role (leader or
//! follower), leader epoch, replicas and ISR as the controller last told us,
//! the followers' fetch positions and the high watermark rule. Maps to Kafka's
//! `kafka.cluster.Partition`.

use crate::common::{now_ms, TopicPartition};
use crate::log::Log;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub zk_version: i32,
    pub controller_epoch: i32,
}

/// What the leader knows of one follower.
#[derive(Debug, Clone, Copy)]
pub struct FollowerState {
    pub log_end_offset: i64,
    pub last_caught_up_ms: i64,
}

pub struct Partition {
    pub tp: TopicPartition,
    pub log: Arc<Log>,
    local_broker_id: i32,
    state: Mutex<(PartitionState, HashMap<i32, FollowerState>)>,
}

impl Partition {
    pub fn new(tp: TopicPartition, log: Arc<Log>, local_broker_id: i32, state: PartitionState) -> Partition {
        Partition { tp, log, local_broker_id, state: Mutex::new((state, HashMap::new())) }
    }

    fn lock(&self) -> MutexGuard<'_, (PartitionState, HashMap<i32, FollowerState>)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> PartitionState {
        self.lock().0.clone()
    }

    pub fn is_leader(&self) -> bool {
        self.lock().0.leader == self.local_broker_id
    }

    pub fn leader_epoch(&self) -> i32 {
        self.lock().0.leader_epoch
    }

    /// Applies a LeaderAndIsr state. Returns false (and changes nothing) if
    /// its leader epoch is not newer than ours.
    pub fn make_leader_or_follower(&self, new: PartitionState) -> bool {
        let mut g = self.lock();
        if new.leader_epoch <= g.0.leader_epoch && g.0.leader_epoch >= 0 {
            return false;
        }
        let becoming_leader = new.leader == self.local_broker_id;
        g.0 = new;
        g.1.clear();
        if becoming_leader {
            let now = now_ms();
            for r in g.0.replicas.clone() {
                if r != self.local_broker_id {
                    g.1.insert(r, FollowerState { log_end_offset: -1, last_caught_up_ms: now });
                }
            }
        }
        drop(g);
        if becoming_leader {
            if let Err(e) = self.log.assign_epoch_start_offset(self.leader_epoch(), self.log.log_end_offset()) {
                log::error!("cannot record leader epoch start for {}: {e}", self.tp);
            }
            self.maybe_increment_high_watermark();
        }
        true
    }

    /// Records a follower's fetch position (its log end offset) and advances
    /// the high watermark if it can.
    pub fn update_follower_fetch_state(&self, replica_id: i32, fetch_offset: i64) {
        {
            let mut g = self.lock();
            let leo = self.log.log_end_offset();
            let entry = g.1.entry(replica_id).or_insert(FollowerState { log_end_offset: -1, last_caught_up_ms: 0 });
            entry.log_end_offset = fetch_offset;
            if fetch_offset >= leo {
                entry.last_caught_up_ms = now_ms();
            }
        }
        self.maybe_increment_high_watermark();
    }

    /// High watermark = the smallest log end offset among the ISR (the leader
    /// included). It never moves backwards. Returns true if it moved.
    pub fn maybe_increment_high_watermark(&self) -> bool {
        let g = self.lock();
        if g.0.leader != self.local_broker_id {
            return false;
        }
        let mut hw = self.log.log_end_offset();
        for r in &g.0.isr {
            if *r == self.local_broker_id {
                continue;
            }
            match g.1.get(r) {
                Some(f) if f.log_end_offset >= 0 => hw = hw.min(f.log_end_offset),
                _ => hw = hw.min(self.log.high_watermark()),
            }
        }
        drop(g);
        if hw > self.log.high_watermark() {
            self.log.update_high_watermark(hw);
            true
        } else {
            false
        }
    }

    pub fn isr_size(&self) -> usize {
        self.lock().0.isr.len()
    }
}
