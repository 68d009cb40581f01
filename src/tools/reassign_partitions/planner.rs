//! The minimal-move planner of `kafka-reassign-partitions --generate`: given
//! the current replica lists, the partitions' sizes and the brokers to use
//! (with their racks), proposes replica lists that balance replicas and
//! preferred leaders over those brokers while moving as few replicas, and
//! then as few bytes, as it can, keeping each partition's replicas in distinct
//! racks. Kafka's `ReassignPartitionsCommand.calculateAssignment` instead
//! recomputes every topic from scratch with `AdminUtils.assignReplicasToBrokers`,
//! which moves nearly everything; this is the planner operators asked for.
//! Pure code: no I/O.

use crate::common::TopicPartition;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the planner starts from.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The current replica list of every partition to plan (first = preferred leader).
    pub current: BTreeMap<TopicPartition, Vec<i32>>,
    /// The size in bytes of one replica of each partition (missing = 0, unknown).
    pub sizes: BTreeMap<TopicPartition, u64>,
    /// The brokers to place replicas on, with their racks (`None` everywhere
    /// for a rack-unaware plan).
    pub brokers: BTreeMap<i32, Option<String>>,
}

/// The proposal and what it costs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub proposed: BTreeMap<TopicPartition, Vec<i32>>,
    /// Replicas that land on a broker that does not hold that partition today.
    pub moved_replicas: usize,
    /// Their bytes (the data that has to be copied).
    pub moved_bytes: u64,
    /// All replicas of the planned partitions.
    pub total_replicas: usize,
    /// Partitions whose preferred leader (first replica) changes.
    pub leader_changes: usize,
}

impl Plan {
    /// Replicas per broker in the proposal.
    pub fn replica_counts(&self) -> BTreeMap<i32, usize> {
        let mut out = BTreeMap::new();
        for r in self.proposed.values().flatten() {
            *out.entry(*r).or_insert(0) += 1;
        }
        out
    }

    /// Preferred leaders per broker in the proposal.
    pub fn leader_counts(&self) -> BTreeMap<i32, usize> {
        let mut out = BTreeMap::new();
        for r in self.proposed.values().filter_map(|rs| rs.first()) {
            *out.entry(*r).or_insert(0) += 1;
        }
        out
    }
}

struct State<'a> {
    input: &'a PlanInput,
    /// Replicas of each partition in the plan so far (unordered until the end).
    replicas: BTreeMap<TopicPartition, Vec<i32>>,
    load: BTreeMap<i32, usize>,
    topic_load: BTreeMap<(String, i32), usize>,
    rack_aware: bool,
    num_racks: usize,
}

impl State<'_> {
    fn size(&self, tp: &TopicPartition) -> u64 {
        self.input.sizes.get(tp).copied().unwrap_or(0)
    }

    fn rack(&self, b: i32) -> Option<&str> {
        if self.rack_aware {
            self.input.brokers.get(&b).and_then(|r| r.as_deref())
        } else {
            None
        }
    }

    /// At most this many replicas of a partition with `rf` replicas per rack.
    fn max_per_rack(&self, rf: usize) -> usize {
        if self.rack_aware && self.num_racks > 0 {
            rf.div_ceil(self.num_racks)
        } else {
            usize::MAX
        }
    }

    /// Whether `replicas` plus `add` (minus `without`) keeps within the rack limit.
    fn rack_ok(&self, replicas: &[i32], without: Option<i32>, add: i32, rf: usize) -> bool {
        let Some(rack) = self.rack(add) else { return true };
        let same = replicas.iter().filter(|&&r| Some(r) != without && self.rack(r) == Some(rack)).count();
        same < self.max_per_rack(rf)
    }

    fn was_there(&self, tp: &TopicPartition, b: i32) -> bool {
        self.input.current.get(tp).is_some_and(|rs| rs.contains(&b))
    }

    fn add(&mut self, tp: &TopicPartition, b: i32) {
        if let Some(rs) = self.replicas.get_mut(tp) {
            rs.push(b);
        }
        *self.load.entry(b).or_insert(0) += 1;
        *self.topic_load.entry((tp.topic.clone(), b)).or_insert(0) += 1;
    }

    fn remove(&mut self, tp: &TopicPartition, b: i32) {
        if let Some(rs) = self.replicas.get_mut(tp) {
            rs.retain(|&r| r != b);
        }
        if let Some(l) = self.load.get_mut(&b) {
            *l = l.saturating_sub(1);
        }
        if let Some(l) = self.topic_load.get_mut(&(tp.topic.clone(), b)) {
            *l = l.saturating_sub(1);
        }
    }

    fn load(&self, b: i32) -> usize {
        self.load.get(&b).copied().unwrap_or(0)
    }

    fn topic_load(&self, topic: &str, b: i32) -> usize {
        self.topic_load.get(&(topic.to_string(), b)).copied().unwrap_or(0)
    }
}

/// Proposes a minimal-move assignment. Every partition keeps its replication
/// factor. Errors carry Kafka's messages (`AdminUtils`).
pub fn plan(input: &PlanInput) -> Result<Plan, String> {
    let n = input.brokers.len();
    if input.current.is_empty() {
        return Ok(Plan::default());
    }
    let max_rf = input.current.values().map(Vec::len).max().unwrap_or(0);
    if max_rf == 0 {
        return Err("Replication factor must be larger than 0.".into());
    }
    if max_rf > n {
        return Err(format!("Replication factor: {max_rf} larger than available brokers: {n}."));
    }
    let rack_aware = !input.brokers.is_empty() && input.brokers.values().all(Option::is_some);
    let num_racks = input.brokers.values().flatten().collect::<BTreeSet<_>>().len();
    let mut st = State {
        input,
        replicas: BTreeMap::new(),
        load: input.brokers.keys().map(|&b| (b, 0)).collect(),
        topic_load: BTreeMap::new(),
        rack_aware,
        num_racks,
    };
    let rf_of = |tp: &TopicPartition| input.current.get(tp).map_or(0, Vec::len);
    let total: usize = input.current.values().map(Vec::len).sum();
    let cap = total.div_ceil(n);
    let floor = total / n;

    // A: keep every current replica that sits on a target broker, within the
    // rack limit (the earlier replicas in the list win).
    for (tp, reps) in &input.current {
        st.replicas.insert(tp.clone(), Vec::new());
        let rf = reps.len();
        for &b in reps {
            if !input.brokers.contains_key(&b) || st.replicas[tp].contains(&b) {
                continue;
            }
            if !st.rack_ok(&st.replicas[tp].clone(), None, b, rf) {
                continue;
            }
            st.add(tp, b);
        }
    }

    // B: shed replicas from brokers above the cap: the smallest partitions
    // first, followers before leaders, where another broker can take them.
    loop {
        let Some((&over, _)) = st.load.iter().filter(|(_, &l)| l > cap).max_by_key(|(&b, &l)| (l, std::cmp::Reverse(b))) else {
            break;
        };
        let mut best: Option<(usize, u64, bool, TopicPartition)> = None;
        for (tp, reps) in &st.replicas {
            if !reps.contains(&over) {
                continue;
            }
            let rf = rf_of(tp);
            // The partition will need (missing + 1) new homes: count them.
            let missing = rf - reps.len();
            let destinations = input
                .brokers
                .keys()
                .filter(|&&c| c != over && !reps.contains(&c) && st.load(c) < cap && st.rack_ok(reps, Some(over), c, rf))
                .count();
            if destinations < missing + 1 {
                continue;
            }
            let is_leader = input.current.get(tp).and_then(|r| r.first()) == Some(&over);
            let key = (missing, st.size(tp), is_leader, tp.clone());
            if best.as_ref().is_none_or(|b| key < *b) {
                best = Some(key);
            }
        }
        match best {
            Some((_, _, _, tp)) => st.remove(&tp, over),
            None => break,
        }
    }

    // C: fill each partition up to its replication factor on the least
    // loaded brokers (rack limit first; relaxed only if nothing fits).
    let tps: Vec<TopicPartition> = st.replicas.keys().cloned().collect();
    for tp in &tps {
        let rf = rf_of(tp);
        while st.replicas[tp].len() < rf {
            let reps = st.replicas[tp].clone();
            let pick = |strict_cap: bool, strict_rack: bool| {
                input
                    .brokers
                    .keys()
                    .copied()
                    .filter(|&c| !reps.contains(&c))
                    .filter(|&c| !strict_cap || st.load(c) < cap)
                    .filter(|&c| !strict_rack || st.rack_ok(&reps, None, c, rf))
                    .min_by_key(|&c| (st.load(c), st.topic_load(&tp.topic, c), c))
            };
            let choice = pick(true, true).or_else(|| pick(false, true)).or_else(|| pick(false, false));
            match choice {
                Some(c) => st.add(tp, c),
                None => return Err(format!("Replication factor: {rf} larger than available brokers: {n}.")),
            }
        }
    }

    // D: repair what the greedy steps left uneven: first brokers above the
    // cap give to brokers below it, then brokers below the floor take from
    // brokers above it; replicas already planned to move go first (free),
    // then the smallest partitions.
    shift(&mut st, &rf_of, |l| l > cap, |l| l < cap);
    shift(&mut st, &rf_of, |l| l > floor, |l| l < floor);

    // E: preferred leaders: keep today's leader where it stays, otherwise the
    // replica leading least; then even the counts out along augmenting paths.
    let mut leader: BTreeMap<TopicPartition, i32> = BTreeMap::new();
    let mut leads: BTreeMap<i32, usize> = input.brokers.keys().map(|&b| (b, 0)).collect();
    for (tp, reps) in &st.replicas {
        let cur = input.current.get(tp).and_then(|r| r.first()).copied();
        let l = match cur {
            Some(c) if reps.contains(&c) => c,
            _ => *reps.iter().min_by_key(|&&r| (leads.get(&r).copied().unwrap_or(0), r)).unwrap_or(&-1),
        };
        leader.insert(tp.clone(), l);
        *leads.entry(l).or_insert(0) += 1;
    }
    balance_leaders(&st.replicas, &mut leader, &mut leads);

    // The proposal: leader first, then the kept replicas in their old order,
    // then the new ones.
    let mut proposed = BTreeMap::new();
    let mut moved_replicas = 0;
    let mut moved_bytes = 0;
    let mut leader_changes = 0;
    for (tp, reps) in &st.replicas {
        let cur = input.current.get(tp).cloned().unwrap_or_default();
        let l = leader[tp];
        let mut list = vec![l];
        list.extend(cur.iter().copied().filter(|r| *r != l && reps.contains(r)));
        let fresh: Vec<i32> = reps.iter().copied().filter(|r| !list.contains(r)).collect();
        list.extend(fresh);
        let new = list.iter().filter(|r| !cur.contains(r)).count();
        moved_replicas += new;
        moved_bytes += new as u64 * st.size(tp);
        if cur.first() != list.first() {
            leader_changes += 1;
        }
        proposed.insert(tp.clone(), list);
    }
    Ok(Plan { proposed, moved_replicas, moved_bytes, total_replicas: total, leader_changes })
}

/// Moves single replicas from brokers whose load satisfies `from` to brokers
/// whose load satisfies `to`, one at a time, until no valid move remains.
fn shift(st: &mut State<'_>, rf_of: &dyn Fn(&TopicPartition) -> usize, from: impl Fn(usize) -> bool, to: impl Fn(usize) -> bool) {
    let bound = st.input.current.values().map(Vec::len).sum::<usize>() * 2 + 1;
    for _ in 0..bound {
        let mut best: Option<(bool, u64, usize, TopicPartition, i32, i32)> = None;
        for (tp, reps) in &st.replicas {
            let rf = rf_of(tp);
            for &o in reps {
                if !from(st.load(o)) {
                    continue;
                }
                for &u in st.input.brokers.keys() {
                    if reps.contains(&u) || !to(st.load(u)) || !st.rack_ok(reps, Some(o), u, rf) {
                        continue;
                    }
                    // Costly when o held the partition before and u did not.
                    let costly = st.was_there(tp, o) && !st.was_there(tp, u);
                    let key = (costly, st.size(tp), st.load(u), tp.clone(), o, u);
                    if best.as_ref().is_none_or(|b| key < *b) {
                        best = Some(key);
                    }
                }
            }
        }
        match best {
            Some((_, _, _, tp, o, u)) => {
                st.remove(&tp, o);
                st.add(&tp, u);
            }
            None => return,
        }
    }
}

/// Moves preferred leadership along paths b0 -> b1 -> ... -> bk (each step a
/// partition led by b(i) that has a replica on b(i+1)) from the broker leading
/// most to one leading at least two fewer, until no such path exists.
fn balance_leaders(replicas: &BTreeMap<TopicPartition, Vec<i32>>, leader: &mut BTreeMap<TopicPartition, i32>, leads: &mut BTreeMap<i32, usize>) {
    let bound = leader.len() * leads.len().max(1) + 1;
    for _ in 0..bound {
        let mut order: Vec<(usize, i32)> = leads.iter().map(|(&b, &c)| (c, b)).collect();
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut improved = false;
        for &(count, start) in &order {
            // BFS from `start` to a broker leading <= count - 2.
            let mut prev: BTreeMap<i32, (i32, TopicPartition)> = BTreeMap::new();
            let mut seen: BTreeSet<i32> = BTreeSet::from([start]);
            let mut queue = VecDeque::from([start]);
            let mut found = None;
            while let Some(x) = queue.pop_front() {
                if x != start && leads.get(&x).copied().unwrap_or(0) + 2 <= count {
                    found = Some(x);
                    break;
                }
                for (tp, &l) in leader.iter() {
                    if l != x {
                        continue;
                    }
                    for &y in &replicas[tp] {
                        if seen.insert(y) {
                            prev.insert(y, (x, tp.clone()));
                            queue.push_back(y);
                        }
                    }
                }
            }
            if let Some(end) = found {
                let mut y = end;
                while y != start {
                    let (x, tp) = prev[&y].clone();
                    leader.insert(tp, y);
                    y = x;
                }
                *leads.entry(start).or_insert(0) -= 1;
                *leads.entry(end).or_insert(0) += 1;
                improved = true;
                break;
            }
        }
        if !improved {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    fn brokers(ids: &[i32]) -> BTreeMap<i32, Option<String>> {
        ids.iter().map(|&b| (b, None)).collect()
    }

    fn spread(p: &Plan) -> (usize, usize) {
        let c = p.replica_counts();
        (c.values().copied().min().unwrap_or(0), c.values().copied().max().unwrap_or(0))
    }

    fn check_valid(input: &PlanInput, p: &Plan) {
        for (tp, reps) in &p.proposed {
            assert_eq!(reps.len(), input.current[tp].len(), "{tp} keeps its replication factor");
            let set: BTreeSet<_> = reps.iter().collect();
            assert_eq!(set.len(), reps.len(), "{tp}: no duplicate replicas in {reps:?}");
            assert!(reps.iter().all(|r| input.brokers.contains_key(r)), "{tp}: {reps:?} only on target brokers");
        }
    }

    #[test]
    fn balanced_cluster_moves_nothing() {
        let mut input = PlanInput { brokers: brokers(&[1, 2, 3]), ..Default::default() };
        for p in 0..6 {
            let first = 1 + p % 3;
            input.current.insert(tp("t", p), vec![first, 1 + (first % 3), 1 + ((first + 1) % 3)]);
        }
        let plan = plan(&input).unwrap();
        assert_eq!(plan.proposed, input.current);
        assert_eq!((plan.moved_replicas, plan.moved_bytes, plan.leader_changes), (0, 0, 0));
    }

    #[test]
    fn replacing_a_broker_moves_one_replica_per_partition() {
        // The move: {1,2,3} -> {2,3,4}, 6 partitions, RF 3.
        let mut input = PlanInput { brokers: brokers(&[2, 3, 4]), ..Default::default() };
        for p in 0..6 {
            let first = 1 + p % 3;
            input.current.insert(tp("t", p), vec![first, 1 + (first % 3), 1 + ((first + 1) % 3)]);
            input.sizes.insert(tp("t", p), 1000);
        }
        let plan = plan(&input).unwrap();
        check_valid(&input, &plan);
        assert_eq!(plan.moved_replicas, 6, "{:?}", plan.proposed);
        assert_eq!(plan.moved_bytes, 6000);
        for reps in plan.proposed.values() {
            let set: BTreeSet<i32> = reps.iter().copied().collect();
            assert_eq!(set, BTreeSet::from([2, 3, 4]));
        }
        assert_eq!(plan.leader_counts(), BTreeMap::from([(2, 2), (3, 2), (4, 2)]));
    }

    #[test]
    fn adding_a_broker_moves_only_its_share_and_the_smallest_partitions() {
        // 12 partitions RF 2 on {1,2,3} (8 replicas each); broker 4 joins:
        // 6 replicas each is balanced, so exactly 6 replicas move.
        let mut input = PlanInput { brokers: brokers(&[1, 2, 3, 4]), ..Default::default() };
        for p in 0..12 {
            let a = 1 + p % 3;
            let b = 1 + (p + 1) % 3;
            input.current.insert(tp("t", p), vec![a, b]);
            input.sizes.insert(tp("t", p), 1000 * (p as u64 + 1));
        }
        let plan = plan(&input).unwrap();
        check_valid(&input, &plan);
        assert_eq!(plan.moved_replicas, 6);
        assert_eq!(spread(&plan), (6, 6));
        // The bytes are those of the six smallest partitions possible given
        // that each donor gives two: far less than the total.
        let total: u64 = (1..=12).map(|x| 1000 * x * 2).sum();
        assert!(plan.moved_bytes * 3 < total, "moved {} of {total}", plan.moved_bytes);
        let leaders = plan.leader_counts();
        assert_eq!(leaders.values().copied().max(), Some(3));
        assert_eq!(leaders.values().copied().min(), Some(3));
    }

    #[test]
    fn prefers_small_partitions_when_shedding() {
        // Broker 3 must give one replica away; the small partition goes.
        let mut input = PlanInput { brokers: brokers(&[1, 2, 3]), ..Default::default() };
        input.current.insert(tp("big", 0), vec![3]);
        input.current.insert(tp("small", 0), vec![3]);
        input.current.insert(tp("x", 0), vec![1]);
        input.sizes.insert(tp("big", 0), 1_000_000);
        input.sizes.insert(tp("small", 0), 10);
        input.current.insert(tp("y", 0), vec![1]);
        input.sizes.insert(tp("x", 0), 500_000);
        input.sizes.insert(tp("y", 0), 500_000);
        let plan = plan(&input).unwrap();
        check_valid(&input, &plan);
        assert_eq!(plan.moved_bytes, 10);
        assert_eq!(plan.proposed[&tp("big", 0)], vec![3]);
        assert_eq!(plan.proposed[&tp("small", 0)], vec![2]);
    }

    #[test]
    fn keeps_racks_apart() {
        // Racks a = {1,2}, b = {3,4}; every partition sits on one rack today.
        let mut input = PlanInput::default();
        for (b, r) in [(1, "a"), (2, "a"), (3, "b"), (4, "b")] {
            input.brokers.insert(b, Some(r.to_string()));
        }
        for p in 0..4 {
            let reps = if p % 2 == 0 { vec![1, 2] } else { vec![3, 4] };
            input.current.insert(tp("t", p), reps);
        }
        let plan = plan(&input).unwrap();
        check_valid(&input, &plan);
        for (tp, reps) in &plan.proposed {
            let racks: BTreeSet<_> = reps.iter().map(|r| input.brokers[r].clone()).collect();
            assert_eq!(racks.len(), 2, "{tp} spans both racks: {reps:?}");
        }
        assert_eq!(plan.moved_replicas, 4, "one replica per partition changes rack");
        assert_eq!(spread(&plan), (2, 2));
    }

    #[test]
    fn balances_leaders_without_moving_data() {
        let mut input = PlanInput { brokers: brokers(&[1, 2, 3]), ..Default::default() };
        for p in 0..6 {
            input.current.insert(tp("t", p), vec![1, 2, 3]);
        }
        let plan = plan(&input).unwrap();
        assert_eq!(plan.moved_replicas, 0);
        assert_eq!(plan.leader_counts(), BTreeMap::from([(1, 2), (2, 2), (3, 2)]));
        assert_eq!(plan.leader_changes, 4);
    }

    #[test]
    fn too_few_brokers_is_kafkas_error() {
        let mut input = PlanInput { brokers: brokers(&[1, 2]), ..Default::default() };
        input.current.insert(tp("t", 0), vec![1, 2, 3]);
        assert_eq!(plan(&input).unwrap_err(), "Replication factor: 3 larger than available brokers: 2.");
    }

    /// A tiny deterministic generator for the property test.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn random_plans_are_balanced_and_minimal() {
        let mut rng = Lcg(7);
        for _case in 0..300 {
            let n_old = 1 + rng.next(6) as i32;
            let old: Vec<i32> = (1..=n_old).collect();
            let n_new = 1 + rng.next(6) as i32;
            let first_new = 1 + rng.next(4) as i32;
            let new: Vec<i32> = (first_new..first_new + n_new).collect();
            let rf = 1 + rng.next(n_old.min(n_new) as u64) as usize;
            let parts = 1 + rng.next(20) as i32;
            let mut input = PlanInput { brokers: brokers(&new), ..Default::default() };
            for p in 0..parts {
                let mut reps = Vec::new();
                while reps.len() < rf {
                    let b = old[rng.next(old.len() as u64) as usize];
                    if !reps.contains(&b) {
                        reps.push(b);
                    }
                }
                input.current.insert(tp("t", p), reps);
            }
            let plan = plan(&input).unwrap();
            check_valid(&input, &plan);
            let (lo, hi) = spread(&plan);
            let total = parts as usize * rf;
            let n = new.len();
            if total >= n {
                assert!(hi - lo <= 1, "replicas balanced: {:?} for {:?}", plan.replica_counts(), input.current);
            }
            // Lower bound on moves: replicas off the target brokers, plus
            // what brokers must shed above the cap or gain below the floor.
            let (cap, floor) = (total.div_ceil(n), total / n);
            let mut load: BTreeMap<i32, usize> = new.iter().map(|&b| (b, 0)).collect();
            let mut off = 0;
            for reps in input.current.values() {
                for r in reps {
                    match load.get_mut(r) {
                        Some(l) => *l += 1,
                        None => off += 1,
                    }
                }
            }
            let excess: usize = load.values().map(|&l| l.saturating_sub(cap)).sum();
            let deficit: usize = load.values().map(|&l| floor.saturating_sub(l)).sum();
            let lower = (off + excess).max(deficit);
            assert_eq!(plan.moved_replicas, lower, "minimal moves for {:?}: {:?}", input.current, plan.proposed);
            let leaders = plan.leader_counts();
            let (llo, lhi) = (
                new.iter().map(|b| leaders.get(b).copied().unwrap_or(0)).min().unwrap_or(0),
                leaders.values().copied().max().unwrap_or(0),
            );
            if parts as usize >= n && rf == n {
                assert!(lhi - llo <= 1, "leaders balanced: {leaders:?}");
            }
        }
    }
}
