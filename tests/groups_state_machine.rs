//! The group membership state machine (`GroupMetadata`) as pure logic:
//! events in (join, sync, heartbeat, leave, commit, time passing), state and
//! responses out. No broker, no I/O.

use bytes::Bytes;
use std::collections::BTreeMap;
use zkafka::coordinator::group_metadata::{Effect, GroupMetadata, GroupState, JoinRequest, JoinResult, SyncResult};
use zkafka::coordinator::GroupConfig;
use zkafka::protocol::error;

fn cfg(initial_delay: i32) -> GroupConfig {
    GroupConfig { group_initial_rebalance_delay_ms: initial_delay, ..Default::default() }
}

fn join_req(member_id: &str, instance: Option<&str>, require_known: bool) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        group_instance_id: instance.map(str::to_string),
        require_known_member_id: require_known,
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout_ms: 30_000,
        session_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"sub"))],
    }
}

fn joins(fx: &[Effect]) -> Vec<(u64, JoinResult)> {
    fx.iter().filter_map(|e| if let Effect::Join(id, r) = e { Some((*id, r.clone())) } else { None }).collect()
}

fn syncs(fx: &[Effect]) -> Vec<(u64, SyncResult)> {
    fx.iter().filter_map(|e| if let Effect::Sync(id, r) = e { Some((*id, r.clone())) } else { None }).collect()
}

fn store_sync(fx: &[Effect]) -> Option<(i32, BTreeMap<String, Bytes>)> {
    fx.iter().find_map(|e| if let Effect::StoreGroup { sync: Some(s) } = e { Some(s.clone()) } else { None })
}

/// Runs a full first join + sync for one dynamic member; returns its id.
fn first_member(g: &mut GroupMetadata, c: &GroupConfig, now: i64) -> String {
    let fx = g.join(join_req("", None, false), 1, c, now);
    let j = joins(&fx);
    assert_eq!(j.len(), 1);
    let id = j[0].1.member_id.clone();
    assert_eq!(j[0].1.error, error::NONE);
    assert_eq!(j[0].1.leader_id, id);
    let fx = g.sync(&id, None, g.generation_id, None, None, BTreeMap::from([(id.clone(), Bytes::from_static(b"A"))]), 2, now);
    let (generation, a) = store_sync(&fx).expect("leader sync stores the group");
    let fx = g.on_sync_stored(generation, a, error::NONE, now);
    assert_eq!(syncs(&fx)[0].1.assignment, Bytes::from_static(b"A"));
    id
}

#[test]
fn v4_join_needs_member_id_then_completes() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let fx = g.join(join_req("", None, true), 1, &c, 0);
    let j = joins(&fx);
    assert_eq!(j[0].1.error, error::MEMBER_ID_REQUIRED);
    let id = j[0].1.member_id.clone();
    assert!(id.starts_with("client-"), "{id}");
    assert_eq!(g.state, GroupState::Empty);
    let fx = g.join(join_req(&id, None, true), 2, &c, 10);
    let j = joins(&fx);
    assert_eq!(j.len(), 1);
    assert_eq!((j[0].0, j[0].1.error, j[0].1.generation_id), (2, error::NONE, 1));
    assert_eq!(j[0].1.members.len(), 1, "the leader gets the member list");
    assert_eq!(j[0].1.protocol_name.as_deref(), Some("range"));
    assert_eq!(g.state, GroupState::CompletingRebalance);
}

#[test]
fn pending_member_id_expires_after_session_timeout() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let fx = g.join(join_req("", None, true), 1, &c, 0);
    let id = joins(&fx)[0].1.member_id.clone();
    g.tick(10_001);
    let fx = g.join(join_req(&id, None, true), 2, &c, 10_002);
    assert_eq!(joins(&fx)[0].1.error, error::UNKNOWN_MEMBER_ID);
}

#[test]
fn second_member_triggers_rebalance_and_both_get_generation_2() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let a = first_member(&mut g, &c, 0);
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(g.generation_id, 1);

    // B joins: the group prepares a rebalance and parks B.
    let fx = g.join(join_req("", None, false), 10, &c, 100);
    assert!(joins(&fx).is_empty());
    assert_eq!(g.state, GroupState::PreparingRebalance);
    // A's heartbeat tells it to rejoin.
    assert_eq!(g.heartbeat(&a, None, 1, 200), error::REBALANCE_IN_PROGRESS);
    // A rejoins: everyone has joined, both answered.
    let fx = g.join(join_req(&a, None, false), 11, &c, 300);
    let j = joins(&fx);
    assert_eq!(j.len(), 2);
    assert!(j.iter().all(|(_, r)| r.generation_id == 2 && r.error == error::NONE));
    let leader = j.iter().find(|(id, _)| *id == 11).map(|(_, r)| r.clone()).unwrap();
    assert_eq!(leader.leader_id, a, "the old leader stays leader");
    assert_eq!(leader.members.len(), 2);
    let follower = j.iter().find(|(id, _)| *id == 10).map(|(_, r)| r.clone()).unwrap();
    assert!(follower.members.is_empty());
    let b = follower.member_id.clone();

    // Follower sync is parked until the leader's assignment is stored.
    let fx = g.sync(&b, None, 2, None, None, BTreeMap::new(), 20, 400);
    assert!(syncs(&fx).is_empty());
    // A stale generation is refused.
    let fx = g.sync(&a, None, 1, None, None, BTreeMap::new(), 21, 400);
    assert_eq!(syncs(&fx)[0].1.error, error::ILLEGAL_GENERATION);
    // Commits during CompletingRebalance are refused.
    assert_eq!(g.validate_commit(&a, None, 2, 400), Err(error::REBALANCE_IN_PROGRESS));
    let assignment = BTreeMap::from([(a.clone(), Bytes::from_static(b"pa")), (b.clone(), Bytes::from_static(b"pb"))]);
    let fx = g.sync(&a, None, 2, None, None, assignment, 22, 500);
    let (generation, stored) = store_sync(&fx).unwrap();
    assert_eq!(generation, 2);
    let fx = g.on_sync_stored(generation, stored, error::NONE, 600);
    let s = syncs(&fx);
    assert_eq!(s.len(), 2);
    assert_eq!(s.iter().find(|(id, _)| *id == 20).unwrap().1.assignment, Bytes::from_static(b"pb"));
    assert_eq!(s.iter().find(|(id, _)| *id == 22).unwrap().1.assignment, Bytes::from_static(b"pa"));
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(g.validate_commit(&b, None, 2, 700), Ok(()));
    assert_eq!(g.validate_commit(&b, None, 1, 700), Err(error::ILLEGAL_GENERATION));
    assert_eq!(g.validate_commit("nobody", None, 2, 700), Err(error::UNKNOWN_MEMBER_ID));
}

#[test]
fn session_expiry_removes_member_and_rebalances() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let a = first_member(&mut g, &c, 0);
    // A heartbeats at 5s; nothing expires at 14s; expires after 15s.
    assert_eq!(g.heartbeat(&a, None, 1, 5_000), error::NONE);
    assert!(g.tick(14_999).is_empty());
    assert_eq!(g.state, GroupState::Stable);
    let fx = g.tick(15_000);
    // The last member is gone: the rebalance completes at once into Empty.
    assert_eq!(g.state, GroupState::Empty);
    assert!(g.members.is_empty());
    assert!(fx.iter().any(|e| matches!(e, Effect::StoreGroup { sync: None })));
    assert_eq!(g.generation_id, 2);
    assert_eq!(g.protocol_type.as_deref(), Some("consumer"));
    // Simple (generation -1) commits are allowed on an Empty group.
    assert_eq!(g.validate_commit("", None, -1, 16_000), Ok(()));
}

#[test]
fn member_not_rejoining_is_dropped_at_rebalance_timeout() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let a = first_member(&mut g, &c, 0);
    let fx = g.join(join_req("", None, false), 10, &c, 1_000);
    assert!(joins(&fx).is_empty());
    // A keeps heartbeating but never rejoins; the join phase ends after the
    // rebalance timeout (30 s) without it.
    for t in (2_000..31_000).step_by(3_000) {
        g.heartbeat(&a, None, 1, t);
        assert!(joins(&g.tick(t)).is_empty());
    }
    let fx = g.tick(31_001);
    let j = joins(&fx);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].0, 10);
    assert_eq!(j[0].1.leader_id, j[0].1.member_id, "the new member leads");
    assert_eq!(g.members.len(), 1);
    assert!(!g.members.contains_key(&a));
}

#[test]
fn leave_triggers_rebalance() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let a = first_member(&mut g, &c, 0);
    let (errs, _) = g.leave(&[("nobody".into(), None)], 10);
    assert_eq!(errs, vec![error::UNKNOWN_MEMBER_ID]);
    let (errs, fx) = g.leave(&[(a.clone(), None)], 10);
    assert_eq!(errs, vec![error::NONE]);
    assert_eq!(g.state, GroupState::Empty);
    assert!(fx.iter().any(|e| matches!(e, Effect::StoreGroup { .. })));
}

#[test]
fn initial_rebalance_delay_collects_members() {
    let c = cfg(3_000);
    let mut g = GroupMetadata::new("g", 0);
    let fx = g.join(join_req("", None, false), 1, &c, 0);
    assert!(joins(&fx).is_empty(), "the first join waits for the initial delay");
    assert_eq!(g.state, GroupState::PreparingRebalance);
    // A second member arrives during the delay: the wait is extended.
    assert!(joins(&g.join(join_req("", None, false), 2, &c, 1_000)).is_empty());
    assert!(joins(&g.tick(3_000)).is_empty(), "extended by another delay");
    let j = joins(&g.tick(6_000));
    assert_eq!(j.len(), 2);
    assert!(j.iter().all(|(_, r)| r.generation_id == 1));
}

#[test]
fn session_timeout_bounds_and_protocol_checks() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let mut r = join_req("", None, false);
    r.session_timeout_ms = 1_000;
    assert_eq!(joins(&g.join(r, 1, &c, 0))[0].1.error, error::INVALID_SESSION_TIMEOUT);
    let mut r = join_req("", None, false);
    r.protocol_type = String::new();
    assert_eq!(joins(&g.join(r, 2, &c, 0))[0].1.error, error::INCONSISTENT_GROUP_PROTOCOL);
    first_member(&mut g, &c, 0);
    let mut r = join_req("", None, false);
    r.protocols = vec![("roundrobin".into(), Bytes::new())];
    assert_eq!(joins(&g.join(r, 3, &c, 0))[0].1.error, error::INCONSISTENT_GROUP_PROTOCOL);
}

#[test]
fn group_max_size() {
    let c = GroupConfig { group_max_size: 1, group_initial_rebalance_delay_ms: 0, ..Default::default() };
    let mut g = GroupMetadata::new("g", 0);
    first_member(&mut g, &c, 0);
    assert_eq!(joins(&g.join(join_req("", None, false), 5, &c, 0))[0].1.error, error::GROUP_MAX_SIZE_REACHED);
}

#[test]
fn static_member_rejoining_keeps_assignment_without_rebalance() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    // Two static members, stable at generation 2.
    let fx = g.join(join_req("", Some("i1"), true), 1, &c, 0);
    let m1 = joins(&fx)[0].1.member_id.clone();
    assert!(m1.starts_with("i1-"));
    let fx = g.sync(&m1, Some("i1"), 1, None, None, BTreeMap::from([(m1.clone(), Bytes::from_static(b"x"))]), 2, 0);
    let (gen, a) = store_sync(&fx).unwrap();
    g.on_sync_stored(gen, a, error::NONE, 0);
    g.join(join_req("", Some("i2"), true), 3, &c, 100);
    let j = joins(&g.join(join_req(&m1, Some("i1"), true), 4, &c, 200));
    assert_eq!(j.len(), 2);
    let m2 = j.iter().find(|(id, _)| *id == 3).unwrap().1.member_id.clone();
    let both = BTreeMap::from([(m1.clone(), Bytes::from_static(b"a1")), (m2.clone(), Bytes::from_static(b"a2"))]);
    g.sync(&m2, Some("i2"), 2, None, None, BTreeMap::new(), 5, 300);
    let (gen, a) = store_sync(&g.sync(&m1, Some("i1"), 2, None, None, both, 6, 300)).unwrap();
    g.on_sync_stored(gen, a, error::NONE, 300);
    assert_eq!((g.state, g.generation_id), (GroupState::Stable, 2));

    // m2 restarts: joins with an empty member id and the same instance id.
    let fx = g.join(join_req("", Some("i2"), true), 7, &c, 5_000);
    let j = joins(&fx);
    assert_eq!(j.len(), 1);
    let r = &j[0].1;
    assert_eq!(r.error, error::NONE);
    assert_eq!(r.generation_id, 2, "no new generation");
    assert_ne!(r.member_id, m2);
    assert_eq!(r.leader_id, m1);
    assert!(fx.iter().any(|e| matches!(e, Effect::StoreGroup { sync: None })));
    assert_eq!(g.state, GroupState::Stable);
    // Its SyncGroup returns the stored assignment at once.
    let s = syncs(&g.sync(&r.member_id, Some("i2"), 2, None, None, BTreeMap::new(), 8, 5_100));
    assert_eq!(s[0].1.assignment, Bytes::from_static(b"a2"));
    // The old incarnation is fenced.
    assert_eq!(g.heartbeat(&m2, Some("i2"), 2, 5_200), error::FENCED_INSTANCE_ID);
    assert_eq!(g.heartbeat(&m1, Some("i1"), 2, 5_200), error::NONE);
}

#[test]
fn static_member_survives_missing_rejoin() {
    let c = cfg(0);
    let mut g = GroupMetadata::new("g", 0);
    let fx = g.join(join_req("", Some("i1"), true), 1, &c, 0);
    let m1 = joins(&fx)[0].1.member_id.clone();
    let (gen, a) = store_sync(&g.sync(&m1, Some("i1"), 1, None, None, BTreeMap::new(), 2, 0)).unwrap();
    g.on_sync_stored(gen, a, error::NONE, 0);
    // A dynamic member joins; the static one does not rejoin in time but is kept.
    g.join(join_req("", None, false), 3, &c, 100);
    for t in (1_000..31_000).step_by(3_000) {
        g.heartbeat(&m1, Some("i1"), 1, t);
        g.tick(t);
    }
    let j = joins(&g.tick(30_200));
    assert_eq!(j.len(), 1);
    assert!(g.members.contains_key(&m1));
    assert_eq!(g.members.len(), 2);
}

#[test]
fn expired_offsets_of_empty_group() {
    use zkafka::common::TopicPartition;
    use zkafka::coordinator::group_metadata::OffsetAndMetadata;
    let mut g = GroupMetadata::new("g", 0);
    let o = OffsetAndMetadata { offset: 1, leader_epoch: -1, metadata: String::new(), commit_timestamp: 100, expire_timestamp: None };
    g.offsets.insert(TopicPartition::new("t", 0), o.clone());
    g.offsets.insert(TopicPartition::new("t", 1), OffsetAndMetadata { commit_timestamp: 500, ..o });
    // Standalone (no protocol type): each offset expires retention after its commit.
    assert!(g.remove_expired_offsets(1_099, 1_000).is_empty());
    assert_eq!(g.remove_expired_offsets(1_100, 1_000), vec![TopicPartition::new("t", 0)]);
    assert_eq!(g.remove_expired_offsets(1_500, 1_000), vec![TopicPartition::new("t", 1)]);
}
