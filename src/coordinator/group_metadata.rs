//! GroupMetadata: one consumer group's membership state machine (Empty,
//! PreparingRebalance, CompletingRebalance, Stable, Dead), its members and
//! committed offsets. Maps to Kafka's `kafka.coordinator.group.GroupMetadata`
//! and `MemberMetadata` plus the per-group rules of `GroupCoordinator`
//! (join/sync/heartbeat/leave, static membership, delayed joins and expiries).
//!
//! Pure logic: every call takes the current time and returns `Effect`s
//! (responses for parked requests, records to persist); nothing here does I/O
//! or keeps timers. The coordinator calls `tick` periodically.

use crate::common::TopicPartition;
use crate::coordinator::offset_config::GroupConfig;
use crate::protocol::error::{self, ErrorCode};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Identifies a parked request (JoinGroup or SyncGroup) awaiting an answer.
pub type RequestId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka uses in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A committed offset (`OffsetAndMetadata` / `CommitRecordMetadataAndOffset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Only set by old (v1-v4) commits with an explicit retention.
    pub expire_timestamp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// (protocol name, metadata) in the member's preference order.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub awaiting_join: Option<RequestId>,
    pub awaiting_sync: Option<RequestId>,
    pub heartbeat_deadline: i64,
    pub is_new: bool,
}

impl MemberMetadata {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }
    fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error: ErrorCode,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    pub member_id: String,
    /// Filled for the leader only: (member id, instance id, metadata).
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    pub fn error(member_id: &str, error: ErrorCode) -> JoinResult {
        JoinResult {
            error,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader_id: String::new(),
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub error: ErrorCode,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: ErrorCode) -> SyncResult {
        SyncResult { error, protocol_type: None, protocol_name: None, assignment: Bytes::new() }
    }
}

/// What the coordinator must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Join(RequestId, JoinResult),
    Sync(RequestId, SyncResult),
    /// Persist the group metadata record. With `sync`, the write completes
    /// the leader's SyncGroup of that generation: call `on_sync_stored`.
    StoreGroup { sync: Option<(i32, BTreeMap<String, Bytes>)> },
}

/// A JoinGroup as the state machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// JoinGroup v4+: new dynamic members must first get an id (MEMBER_ID_REQUIRED).
    pub require_known_member_id: bool,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
}

#[derive(Debug, Clone)]
pub struct GroupMetadata {
    pub group_id: String,
    pub state: GroupState,
    pub state_timestamp: i64,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, MemberMetadata>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with their expiry.
    pub pending_members: HashMap<String, i64>,
    /// group.instance.id -> member id
    pub static_members: HashMap<String, String>,
    /// Members that must still send SyncGroup, and by when.
    pub pending_sync: BTreeSet<String>,
    pub pending_sync_deadline: i64,
    pub offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    /// Deadline of the delayed join (PreparingRebalance).
    join_deadline: i64,
    /// InitialDelayedJoin: the rebalance time left to extend into.
    initial_delay_remaining: Option<i64>,
    new_member_added: bool,
    /// `group.initial.rebalance.delay.ms` of the current delayed join.
    initial_step: i64,
    uuid_counter: u64,
}

fn random_uuid(counter: u64) -> String {
    let a: u64 = rand::random();
    let b: u64 = rand::random::<u64>() ^ counter;
    let x = ((a as u128) << 64) | b as u128;
    let s = format!("{x:032x}");
    format!("{}-{}-4{}-a{}-{}", &s[0..8], &s[8..12], &s[13..16], &s[17..20], &s[20..32])
}

impl GroupMetadata {
    pub fn new(group_id: &str, now: i64) -> GroupMetadata {
        GroupMetadata {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            state_timestamp: now,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            pending_members: HashMap::new(),
            static_members: HashMap::new(),
            pending_sync: BTreeSet::new(),
            pending_sync_deadline: i64::MAX,
            offsets: BTreeMap::new(),
            join_deadline: i64::MAX,
            initial_delay_remaining: None,
            new_member_added: false,
            initial_step: 0,
            uuid_counter: 0,
        }
    }

    pub fn is(&self, s: GroupState) -> bool {
        self.state == s
    }

    fn transition(&mut self, to: GroupState, now: i64) {
        self.state = to;
        self.state_timestamp = now;
    }

    /// The largest rebalance timeout of the members (the join phase's limit).
    pub fn rebalance_timeout_ms(&self) -> i64 {
        self.members.values().map(|m| m.rebalance_timeout_ms as i64).max().unwrap_or(0)
    }

    fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> Vec<String> {
        let mut it = self.members.values();
        let Some(first) = it.next() else { return Vec::new() };
        let mut c: Vec<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect();
        for m in it {
            c.retain(|p| m.protocols.iter().any(|(n, _)| n == p));
        }
        c
    }

    /// Each member votes for its most preferred candidate; most votes wins
    /// (ties go to the candidate listed first by the first member).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: Vec<(String, usize)> = candidates.iter().map(|c| (c.clone(), 0)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| c == name) {
                    v.1 += 1;
                }
            }
        }
        let mut best: Option<(String, usize)> = None;
        for (c, n) in votes {
            if best.as_ref().map_or(true, |(_, b)| n > *b) {
                best = Some((c, n));
            }
        }
        best.map(|(c, _)| c)
    }

    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            !protocol_type.is_empty() && !protocols.is_empty()
        } else {
            self.protocol_type.as_deref() == Some(protocol_type)
                && self.candidate_protocols().iter().any(|c| protocols.iter().any(|(n, _)| n == c))
        }
    }

    fn accepts_joining_member(&self, member_id: &str, max: i32) -> bool {
        match self.state {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                (self.members.get(member_id).is_some_and(|m| m.awaiting_join.is_some()))
                    || (self.members.values().filter(|m| m.awaiting_join.is_some()).count() as i64) < max as i64
            }
            _ => self.members.contains_key(member_id) || (self.members.len() as i64) < max as i64,
        }
    }

    fn join_result_for(&self, member_id: &str, with_members: bool) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        JoinResult {
            error: error::NONE,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader_id: self.leader_id.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: if with_members {
                self.members
                    .values()
                    .map(|m| (m.member_id.clone(), m.group_instance_id.clone(), m.metadata_for(&protocol)))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    fn new_member_id(&mut self, prefix: &str) -> String {
        self.uuid_counter += 1;
        format!("{prefix}-{}", random_uuid(self.uuid_counter))
    }

    /// Handles a JoinGroup. The answer comes as an `Effect::Join` for `req`,
    /// now or when the rebalance completes.
    pub fn join(&mut self, req: JoinRequest, req_id: RequestId, cfg: &GroupConfig, now: i64) -> Vec<Effect> {
        let mut fx = Vec::new();
        let reply = |e: ErrorCode, id: &str| vec![Effect::Join(req_id, JoinResult::error(id, e))];
        if req.session_timeout_ms < cfg.group_min_session_timeout_ms || req.session_timeout_ms > cfg.group_max_session_timeout_ms {
            return reply(error::INVALID_SESSION_TIMEOUT, &req.member_id);
        }
        if self.is(GroupState::Dead) {
            return reply(error::COORDINATOR_NOT_AVAILABLE, &req.member_id);
        }
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            return reply(error::INCONSISTENT_GROUP_PROTOCOL, &req.member_id);
        }
        if req.member_id.is_empty() {
            // A new member.
            if !self.accepts_joining_member("", cfg.group_max_size) {
                return reply(error::GROUP_MAX_SIZE_REACHED, "");
            }
            let prefix = req.group_instance_id.clone().unwrap_or_else(|| req.client_id.clone());
            let new_id = self.new_member_id(&prefix);
            if let Some(instance) = req.group_instance_id.clone() {
                if let Some(old_id) = self.static_members.get(&instance).cloned() {
                    self.replace_static_member(&old_id, &new_id, req, req_id, now, &mut fx);
                } else {
                    self.add_member_and_rebalance(new_id, req, req_id, cfg, now, &mut fx);
                }
            } else if req.require_known_member_id {
                self.pending_members.insert(new_id.clone(), now + req.session_timeout_ms as i64);
                fx.push(Effect::Join(req_id, JoinResult::error(&new_id, error::MEMBER_ID_REQUIRED)));
            } else {
                self.add_member_and_rebalance(new_id, req, req_id, cfg, now, &mut fx);
            }
            return fx;
        }
        // A member with an id.
        if self.pending_members.remove(&req.member_id).is_some() {
            let id = req.member_id.clone();
            if !self.accepts_joining_member(&id, cfg.group_max_size) {
                return reply(error::GROUP_MAX_SIZE_REACHED, &id);
            }
            self.add_member_and_rebalance(id, req, req_id, cfg, now, &mut fx);
            return fx;
        }
        if let Some(instance) = &req.group_instance_id {
            if let Some(known) = self.static_members.get(instance) {
                if *known != req.member_id {
                    return reply(error::FENCED_INSTANCE_ID, &req.member_id);
                }
            }
        }
        if !self.members.contains_key(&req.member_id) {
            return reply(error::UNKNOWN_MEMBER_ID, &req.member_id);
        }
        if !self.accepts_joining_member(&req.member_id, cfg.group_max_size) {
            return reply(error::GROUP_MAX_SIZE_REACHED, &req.member_id);
        }
        let member_id = req.member_id.clone();
        let is_leader = self.leader_id.as_deref() == Some(member_id.as_str());
        let matches = self.members.get(&member_id).is_some_and(|m| m.matches(&req.protocols));
        match self.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(req, req_id, now, &mut fx),
            GroupState::CompletingRebalance if matches => {
                self.touch(&member_id, now);
                fx.push(Effect::Join(req_id, self.join_result_for(&member_id, is_leader)));
            }
            GroupState::Stable if matches && !is_leader => {
                self.touch(&member_id, now);
                fx.push(Effect::Join(req_id, self.join_result_for(&member_id, false)));
            }
            GroupState::CompletingRebalance | GroupState::Stable => self.update_member_and_rebalance(req, req_id, now, &mut fx),
            GroupState::Empty | GroupState::Dead => fx.push(Effect::Join(req_id, JoinResult::error(&member_id, error::UNKNOWN_MEMBER_ID))),
        }
        fx
    }

    fn touch(&mut self, member_id: &str, now: i64) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.heartbeat_deadline = now + m.session_timeout_ms as i64;
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        req: JoinRequest,
        req_id: RequestId,
        cfg: &GroupConfig,
        now: i64,
        fx: &mut Vec<Effect>,
    ) {
        let rebalance_timeout_ms = if req.rebalance_timeout_ms < 0 { req.session_timeout_ms } else { req.rebalance_timeout_ms };
        let member = MemberMetadata {
            member_id: member_id.clone(),
            group_instance_id: req.group_instance_id.clone(),
            client_id: req.client_id,
            client_host: req.client_host,
            rebalance_timeout_ms,
            session_timeout_ms: req.session_timeout_ms,
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(req_id),
            awaiting_sync: None,
            heartbeat_deadline: now + req.session_timeout_ms as i64,
            is_new: true,
        };
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type);
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members.insert(instance.clone(), member_id.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member_id.clone());
        }
        self.members.insert(member_id, member);
        if self.is(GroupState::PreparingRebalance) && self.initial_delay_remaining.is_some() {
            self.new_member_added = true;
        }
        self.maybe_prepare_rebalance(cfg, now, fx);
        self.try_complete_join(now, fx);
    }

    fn update_member_and_rebalance(&mut self, req: JoinRequest, req_id: RequestId, now: i64, fx: &mut Vec<Effect>) {
        if let Some(m) = self.members.get_mut(&req.member_id) {
            if let Some(old) = m.awaiting_join.replace(req_id) {
                // A repeated join replaces the parked one, as Kafka's callback swap does.
                fx.push(Effect::Join(old, JoinResult::error(&req.member_id, error::UNKNOWN_MEMBER_ID)));
            }
            m.protocols = req.protocols;
            m.rebalance_timeout_ms = if req.rebalance_timeout_ms < 0 { req.session_timeout_ms } else { req.rebalance_timeout_ms };
            m.session_timeout_ms = req.session_timeout_ms;
            m.client_id = req.client_id;
            m.client_host = req.client_host;
            m.heartbeat_deadline = now + m.session_timeout_ms as i64;
        }
        if matches!(self.state, GroupState::Stable | GroupState::CompletingRebalance) {
            self.prepare_rebalance(None, now, fx);
        }
        self.try_complete_join(now, fx);
    }

    /// KIP-345: a known `group.instance.id` joins with an empty member id —
    /// the old member id is fenced and replaced by the new one.
    fn replace_static_member(&mut self, old_id: &str, new_id: &str, req: JoinRequest, req_id: RequestId, now: i64, fx: &mut Vec<Effect>) {
        let Some(mut member) = self.members.remove(old_id) else {
            self.static_members.remove(req.group_instance_id.as_deref().unwrap_or_default());
            return;
        };
        if let Some(old) = member.awaiting_join.take() {
            fx.push(Effect::Join(old, JoinResult::error(old_id, error::FENCED_INSTANCE_ID)));
        }
        if let Some(old) = member.awaiting_sync.take() {
            fx.push(Effect::Sync(old, SyncResult::error(error::FENCED_INSTANCE_ID)));
        }
        let old_leader = self.leader_id.clone();
        member.member_id = new_id.to_string();
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        member.session_timeout_ms = req.session_timeout_ms;
        member.heartbeat_deadline = now + req.session_timeout_ms as i64;
        if self.leader_id.as_deref() == Some(old_id) {
            self.leader_id = Some(new_id.to_string());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.to_string());
        }
        if let Some(instance) = &req.group_instance_id {
            self.static_members.insert(instance.clone(), new_id.to_string());
        }
        let protocols_change = !member.matches(&req.protocols);
        member.protocols = req.protocols.clone();
        self.members.insert(new_id.to_string(), member);
        match self.state {
            GroupState::Stable if !protocols_change || self.select_protocol() == self.protocol_name => {
                // No rebalance: persist the new member id and hand back the
                // current generation. The old leader id is returned so that a
                // returning leader does not compute a new assignment.
                fx.push(Effect::StoreGroup { sync: None });
                let mut r = self.join_result_for(new_id, false);
                r.leader_id = old_leader.unwrap_or_default();
                fx.push(Effect::Join(req_id, r));
            }
            _ => {
                if let Some(m) = self.members.get_mut(new_id) {
                    m.awaiting_join = Some(req_id);
                }
                if !self.is(GroupState::PreparingRebalance) {
                    self.prepare_rebalance(None, now, fx);
                }
                self.try_complete_join(now, fx);
            }
        }
    }

    fn maybe_prepare_rebalance(&mut self, cfg: &GroupConfig, now: i64, fx: &mut Vec<Effect>) {
        if matches!(self.state, GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty) {
            self.prepare_rebalance(Some(cfg), now, fx);
        }
    }

    /// Enters PreparingRebalance. From Empty the join is delayed by
    /// `group.initial.rebalance.delay.ms` (InitialDelayedJoin).
    fn prepare_rebalance(&mut self, cfg: Option<&GroupConfig>, now: i64, fx: &mut Vec<Effect>) {
        if self.is(GroupState::CompletingRebalance) {
            self.reset_and_propagate_assignment_error(error::REBALANCE_IN_PROGRESS, fx);
        }
        let timeout = self.rebalance_timeout_ms();
        let initial_delay = cfg.map(|c| c.group_initial_rebalance_delay_ms as i64).unwrap_or(0);
        if self.is(GroupState::Empty) && initial_delay > 0 {
            let delay = initial_delay.min(timeout);
            self.join_deadline = now + delay;
            self.initial_delay_remaining = Some((timeout - initial_delay).max(0));
            self.new_member_added = false;
            self.initial_step = initial_delay;
        } else {
            self.join_deadline = now + timeout;
            self.initial_delay_remaining = None;
        }
        self.pending_sync.clear();
        self.transition(GroupState::PreparingRebalance, now);
    }

    fn reset_and_propagate_assignment_error(&mut self, err: ErrorCode, fx: &mut Vec<Effect>) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            if let Some(id) = m.awaiting_sync.take() {
                fx.push(Effect::Sync(id, SyncResult::error(err)));
            }
        }
    }

    /// Completes the join phase if every known member has rejoined (not
    /// during the initial delay, which only ends by its timer).
    fn try_complete_join(&mut self, now: i64, fx: &mut Vec<Effect>) {
        if self.is(GroupState::PreparingRebalance) && self.initial_delay_remaining.is_none() && self.all_members_joined() {
            self.complete_join(now, fx);
        }
    }

    fn complete_join(&mut self, now: i64, fx: &mut Vec<Effect>) {
        // Dynamic members that did not rejoin are removed; static ones stay.
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            self.remove_member(&id, fx);
        }
        self.initial_delay_remaining = None;
        self.join_deadline = i64::MAX;
        self.generation_id += 1;
        if self.members.is_empty() {
            // The protocol type stays (an Empty consumer group is still a
            // consumer group; its offsets expire from this moment).
            self.protocol_name = None;
            self.leader_id = None;
            self.transition(GroupState::Empty, now);
            fx.push(Effect::StoreGroup { sync: None });
            return;
        }
        // The leader must be a member that rejoined.
        let leader_ok = self
            .leader_id
            .as_ref()
            .and_then(|l| self.members.get(l))
            .is_some_and(|m| m.awaiting_join.is_some());
        if !leader_ok {
            self.leader_id = self.members.values().find(|m| m.awaiting_join.is_some()).map(|m| m.member_id.clone());
        }
        self.protocol_name = self.select_protocol();
        self.transition(GroupState::CompletingRebalance, now);
        let leader = self.leader_id.clone().unwrap_or_default();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in &ids {
            let result = self.join_result_for(id, *id == leader);
            if let Some(m) = self.members.get_mut(id) {
                m.is_new = false;
                m.heartbeat_deadline = now + m.session_timeout_ms as i64;
                if let Some(req) = m.awaiting_join.take() {
                    fx.push(Effect::Join(req, result));
                }
            }
        }
        self.pending_sync = ids.into_iter().collect();
        self.pending_sync_deadline = now + self.rebalance_timeout_ms();
    }

    fn remove_member(&mut self, member_id: &str, fx: &mut Vec<Effect>) {
        if let Some(mut m) = self.members.remove(member_id) {
            if let Some(req) = m.awaiting_join.take() {
                fx.push(Effect::Join(req, JoinResult::error(member_id, error::UNKNOWN_MEMBER_ID)));
            }
            if let Some(req) = m.awaiting_sync.take() {
                fx.push(Effect::Sync(req, SyncResult::error(error::UNKNOWN_MEMBER_ID)));
            }
            if let Some(instance) = &m.group_instance_id {
                if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(instance);
                }
            }
        }
        self.pending_sync.remove(member_id);
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
    }

    /// A member left or expired: rebalance (or re-check the join phase).
    fn remove_member_and_update_group(&mut self, member_id: &str, now: i64, fx: &mut Vec<Effect>) {
        self.remove_member(member_id, fx);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(None, now, fx);
                self.try_complete_join(now, fx);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now, fx),
            _ => {}
        }
    }

    /// Handles a SyncGroup; the answer comes as an `Effect::Sync` for `req_id`.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: BTreeMap<String, Bytes>,
        req_id: RequestId,
        now: i64,
    ) -> Vec<Effect> {
        let reply = |e| vec![Effect::Sync(req_id, SyncResult::error(e))];
        if self.is(GroupState::Dead) {
            return reply(error::COORDINATOR_NOT_AVAILABLE);
        }
        if let Some(e) = self.check_member(member_id, group_instance_id) {
            return reply(e);
        }
        if generation_id != self.generation_id {
            return reply(error::ILLEGAL_GENERATION);
        }
        if protocol_type.is_some_and(|p| Some(p) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|p| Some(p) != self.protocol_name.as_deref())
        {
            return reply(error::INCONSISTENT_GROUP_PROTOCOL);
        }
        match self.state {
            GroupState::Empty => reply(error::UNKNOWN_MEMBER_ID),
            GroupState::PreparingRebalance => reply(error::REBALANCE_IN_PROGRESS),
            GroupState::CompletingRebalance => {
                self.pending_sync.remove(member_id);
                self.touch(member_id, now);
                let mut fx = Vec::new();
                if let Some(m) = self.members.get_mut(member_id) {
                    if let Some(old) = m.awaiting_sync.replace(req_id) {
                        fx.push(Effect::Sync(old, SyncResult::error(error::REBALANCE_IN_PROGRESS)));
                    }
                }
                if self.leader_id.as_deref() == Some(member_id) {
                    let mut full = BTreeMap::new();
                    for id in self.members.keys() {
                        full.insert(id.clone(), assignments.get(id).cloned().unwrap_or_default());
                    }
                    fx.push(Effect::StoreGroup { sync: Some((self.generation_id, full)) });
                }
                fx
            }
            GroupState::Stable => {
                self.pending_sync.remove(member_id);
                self.touch(member_id, now);
                let assignment = self.members.get(member_id).map(|m| m.assignment.clone()).unwrap_or_default();
                vec![Effect::Sync(
                    req_id,
                    SyncResult {
                        error: error::NONE,
                        protocol_type: self.protocol_type.clone(),
                        protocol_name: self.protocol_name.clone(),
                        assignment,
                    },
                )]
            }
            GroupState::Dead => reply(error::COORDINATOR_NOT_AVAILABLE),
        }
    }

    /// The group record of the leader's SyncGroup was written (or failed).
    pub fn on_sync_stored(&mut self, generation: i32, assignments: BTreeMap<String, Bytes>, err: ErrorCode, now: i64) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.is(GroupState::CompletingRebalance) || self.generation_id != generation {
            return fx;
        }
        if err != error::NONE {
            self.reset_and_propagate_assignment_error(err, &mut fx);
            self.prepare_rebalance(None, now, &mut fx);
            self.try_complete_join(now, &mut fx);
            return fx;
        }
        for (id, a) in assignments {
            if let Some(m) = self.members.get_mut(&id) {
                m.assignment = a;
            }
        }
        for m in self.members.values_mut() {
            if let Some(req) = m.awaiting_sync.take() {
                fx.push(Effect::Sync(
                    req,
                    SyncResult {
                        error: error::NONE,
                        protocol_type: self.protocol_type.clone(),
                        protocol_name: self.protocol_name.clone(),
                        assignment: m.assignment.clone(),
                    },
                ));
            }
        }
        self.transition(GroupState::Stable, now);
        fx
    }

    /// Unknown member / fenced static member checks shared by Sync, Heartbeat and commits.
    fn check_member(&self, member_id: &str, group_instance_id: Option<&str>) -> Option<ErrorCode> {
        if let Some(instance) = group_instance_id {
            if let Some(known) = self.static_members.get(instance) {
                if known != member_id {
                    return Some(error::FENCED_INSTANCE_ID);
                }
            }
        }
        if !self.members.contains_key(member_id) {
            return Some(error::UNKNOWN_MEMBER_ID);
        }
        None
    }

    /// Handles a Heartbeat.
    pub fn heartbeat(&mut self, member_id: &str, group_instance_id: Option<&str>, generation_id: i32, now: i64) -> ErrorCode {
        if self.is(GroupState::Dead) {
            return error::COORDINATOR_NOT_AVAILABLE;
        }
        if let Some(e) = self.check_member(member_id, group_instance_id) {
            return e;
        }
        if generation_id != self.generation_id {
            return error::ILLEGAL_GENERATION;
        }
        match self.state {
            GroupState::Empty => error::UNKNOWN_MEMBER_ID,
            GroupState::PreparingRebalance => {
                self.touch(member_id, now);
                error::REBALANCE_IN_PROGRESS
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.touch(member_id, now);
                error::NONE
            }
            GroupState::Dead => error::COORDINATOR_NOT_AVAILABLE,
        }
    }

    /// Handles a LeaveGroup of several members (v3+) or one (v0-2):
    /// returns each member's error and the effects.
    pub fn leave(&mut self, leaving: &[(String, Option<String>)], now: i64) -> (Vec<ErrorCode>, Vec<Effect>) {
        let mut fx = Vec::new();
        let mut errors = Vec::with_capacity(leaving.len());
        for (member_id, instance) in leaving {
            if self.is(GroupState::Dead) {
                errors.push(error::COORDINATOR_NOT_AVAILABLE);
                continue;
            }
            let target = match instance {
                Some(i) => match self.static_members.get(i) {
                    Some(known) if !member_id.is_empty() && known != member_id => {
                        errors.push(error::FENCED_INSTANCE_ID);
                        continue;
                    }
                    Some(known) => known.clone(),
                    None => {
                        errors.push(error::UNKNOWN_MEMBER_ID);
                        continue;
                    }
                },
                None => member_id.clone(),
            };
            if self.pending_members.remove(&target).is_some() {
                errors.push(error::NONE);
                self.try_complete_join(now, &mut fx);
                continue;
            }
            if !self.members.contains_key(&target) {
                errors.push(error::UNKNOWN_MEMBER_ID);
                continue;
            }
            errors.push(error::NONE);
            self.remove_member_and_update_group(&target, now, &mut fx);
        }
        (errors, fx)
    }

    /// Validates an OffsetCommit against membership and generation. `Ok`
    /// means store; a "simple" commit (generation < 0) is allowed on an Empty group.
    pub fn validate_commit(&mut self, member_id: &str, group_instance_id: Option<&str>, generation_id: i32, now: i64) -> Result<(), ErrorCode> {
        if generation_id < 0 && self.is(GroupState::Empty) {
            return Ok(());
        }
        if self.is(GroupState::Dead) {
            return Err(error::COORDINATOR_NOT_AVAILABLE);
        }
        if let Some(e) = self.check_member(member_id, group_instance_id) {
            return Err(e);
        }
        if generation_id != self.generation_id {
            return Err(error::ILLEGAL_GENERATION);
        }
        if self.is(GroupState::CompletingRebalance) {
            return Err(error::REBALANCE_IN_PROGRESS);
        }
        self.touch(member_id, now);
        Ok(())
    }

    /// The KIP-447 checks of a TxnOffsetCommit (Kafka's
    /// `GroupCoordinator.doTxnCommitOffsets`): a fenced static member, an
    /// unknown member (an empty member id, as older clients send, passes) and
    /// a generation other than the group's (a negative one passes).
    pub fn validate_txn_commit(&self, member_id: &str, group_instance_id: Option<&str>, generation_id: i32) -> Result<(), ErrorCode> {
        if self.is(GroupState::Dead) {
            return Err(error::COORDINATOR_NOT_AVAILABLE);
        }
        if let Some(instance) = group_instance_id {
            if self.static_members.get(instance).is_some_and(|known| known != member_id) {
                return Err(error::FENCED_INSTANCE_ID);
            }
        }
        if !member_id.is_empty() && !self.members.contains_key(member_id) {
            return Err(error::UNKNOWN_MEMBER_ID);
        }
        if generation_id >= 0 && generation_id != self.generation_id {
            return Err(error::ILLEGAL_GENERATION);
        }
        Ok(())
    }

    /// The earliest time `tick` has something to do (`i64::MAX` if never):
    /// the coordinator sleeps until then, so that a member is removed at its
    /// session deadline, as Kafka's per-member delayed heartbeat does.
    pub fn next_deadline(&self) -> i64 {
        if self.is(GroupState::Dead) {
            return i64::MAX;
        }
        let mut next = i64::MAX;
        // pending ids expire once the deadline has passed (`> now` keeps them)
        for d in self.pending_members.values() {
            next = next.min(d.saturating_add(1));
        }
        for m in self.members.values() {
            if m.awaiting_join.is_none() && m.awaiting_sync.is_none() {
                next = next.min(m.heartbeat_deadline);
            }
        }
        if matches!(self.state, GroupState::CompletingRebalance | GroupState::Stable) && !self.pending_sync.is_empty() {
            next = next.min(self.pending_sync_deadline);
        }
        if self.is(GroupState::PreparingRebalance) {
            next = next.min(self.join_deadline);
        }
        next
    }

    /// Timers: delayed join completion, session expiry of members and of
    /// pending member ids, and members that never sent SyncGroup.
    pub fn tick(&mut self, now: i64) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.is(GroupState::Dead) {
            return fx;
        }
        // Pending (MEMBER_ID_REQUIRED) ids that never came back.
        let before = self.pending_members.len();
        self.pending_members.retain(|_, deadline| *deadline > now);
        if self.pending_members.len() != before {
            self.try_complete_join(now, &mut fx);
        }
        // Session expiry (members parked in a join or sync are kept alive).
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none() && m.heartbeat_deadline <= now)
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            log::info!("member {id} in group {} has failed (session timeout), removing it from the group", self.group_id);
            self.remove_member_and_update_group(&id, now, &mut fx);
        }
        // Members that got a join response but never synced.
        if matches!(self.state, GroupState::CompletingRebalance | GroupState::Stable)
            && !self.pending_sync.is_empty()
            && now >= self.pending_sync_deadline
        {
            let ids: Vec<String> = std::mem::take(&mut self.pending_sync).into_iter().collect();
            for id in &ids {
                self.remove_member(id, &mut fx);
            }
            self.prepare_rebalance(None, now, &mut fx);
            self.try_complete_join(now, &mut fx);
        }
        // The delayed join.
        if self.is(GroupState::PreparingRebalance) && now >= self.join_deadline {
            match self.initial_delay_remaining {
                Some(remaining) if self.new_member_added && remaining > 0 => {
                    // InitialDelayedJoin: each new member extends the wait.
                    let delay = remaining.min(self.join_delay_step());
                    self.new_member_added = false;
                    self.initial_delay_remaining = Some(remaining - delay);
                    self.join_deadline = now + delay;
                }
                _ => self.complete_join(now, &mut fx),
            }
        }
        fx
    }

    fn join_delay_step(&self) -> i64 {
        // The step equals the configured initial delay; it is recorded as the
        // first deadline's length when the delayed join started.
        self.initial_step.max(1)
    }

    /// The group's partition is no longer ours: answer every parked request.
    pub fn unload(&mut self, err: ErrorCode) -> Vec<Effect> {
        let mut fx = Vec::new();
        for m in self.members.values_mut() {
            if let Some(r) = m.awaiting_join.take() {
                fx.push(Effect::Join(r, JoinResult::error(&m.member_id, err)));
            }
            if let Some(r) = m.awaiting_sync.take() {
                fx.push(Effect::Sync(r, SyncResult::error(err)));
            }
        }
        self.transition(GroupState::Dead, 0);
        fx
    }

    /// Offsets of an Empty group expire `retention_ms` after the group became
    /// Empty (or after their commit, for groups without a protocol type, or
    /// at their explicit expire time). Returns the expired partitions.
    pub fn remove_expired_offsets(&mut self, now: i64, retention_ms: i64) -> Vec<TopicPartition> {
        let base_on_state = self.protocol_type.is_some() || !self.members.is_empty() || self.generation_id > 0;
        if !self.is(GroupState::Empty) {
            return Vec::new();
        }
        let state_ts = self.state_timestamp;
        let expired: Vec<TopicPartition> = self
            .offsets
            .iter()
            .filter(|(_, o)| match o.expire_timestamp {
                Some(t) => now >= t,
                None => {
                    let base = if base_on_state { state_ts } else { o.commit_timestamp };
                    now >= base.saturating_add(retention_ms)
                }
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in &expired {
            self.offsets.remove(tp);
        }
        expired
    }

    /// The group after loading from the log: members (if any) are Stable and
    /// must heartbeat within their session timeout.
    pub fn loaded(mut self, now: i64) -> GroupMetadata {
        for m in self.members.values_mut() {
            m.heartbeat_deadline = now + m.session_timeout_ms as i64;
            if let Some(i) = &m.group_instance_id {
                self.static_members.insert(i.clone(), m.member_id.clone());
            }
        }
        self.state = if self.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
        self
    }
}
