use super::*;
use proptest::prelude::*;

fn c(name: &str) -> Work {
    Work::Connector(name.into())
}

fn t(name: &str, id: u32) -> Work {
    Work::Task(name.into(), id)
}

fn set(items: &[Work]) -> BTreeSet<Work> {
    items.iter().cloned().collect()
}

fn snapshot(offset: i64, connectors: &[(&str, u32)]) -> ClusterSnapshot {
    ClusterSnapshot { config_offset: offset, connectors: connectors.iter().map(|(n, k)| (n.to_string(), *k)).collect() }
}

fn url(id: &str) -> String {
    format!("http://{id}:8083/")
}

/// A member as its JoinGroup metadata would describe it: running `items` (none: a null current
/// assignment, as a worker that has nothing sends).
fn member(id: &str, offset: i64, items: &BTreeSet<Work>) -> Member {
    let current_assignment = (!items.is_empty()).then(|| Assignment {
        version: 2,
        error: NO_ERROR,
        leader: "m1".into(),
        leader_url: url("m1"),
        config_offset: offset,
        assigned: Some(from_work(items)),
        revoked: Some(vec![]),
        delay_ms: 0,
    });
    Member { member_id: id.into(), metadata: WorkerMetadata { version: 2, url: url(id), config_offset: offset, current_assignment } }
}

fn assigned(out: &BTreeMap<String, Assignment>, id: &str) -> BTreeSet<Work> {
    to_work(out[id].assigned.as_deref().expect("assigned is always written"))
}

fn revoked(out: &BTreeMap<String, Assignment>, id: &str) -> BTreeSet<Work> {
    to_work(out[id].revoked.as_deref().expect("revoked is always written"))
}

fn nothing_moves(out: &BTreeMap<String, Assignment>) -> bool {
    out.keys().all(|id| assigned(out, id).is_empty() && revoked(out, id).is_empty())
}

/// A cluster of workers that apply what the leader tells them, as §6.4's member side does.
struct Cluster {
    assignor: IncrementalCooperativeAssignor,
    running: BTreeMap<String, BTreeSet<Work>>,
    generation: i32,
}

impl Cluster {
    fn new(max_delay: Duration) -> Self {
        Self { assignor: IncrementalCooperativeAssignor::new(max_delay), running: BTreeMap::new(), generation: 0 }
    }

    /// One rebalance with exactly `ids` in the group; workers not in it are gone (with their work).
    fn round(&mut self, ids: &[&str], snap: &ClusterSnapshot, now: Instant) -> BTreeMap<String, Assignment> {
        self.running.retain(|id, _| ids.contains(&id.as_str()));
        let members: Vec<Member> = ids.iter().map(|id| member(id, snap.config_offset, self.running.get(*id).unwrap_or(&BTreeSet::new()))).collect();
        self.generation += 1;
        let out = self.assignor.assign(ids[0], 2, self.generation, &members, snap, now);
        self.apply(&out);
        out
    }

    fn apply(&mut self, out: &BTreeMap<String, Assignment>) {
        for id in out.keys() {
            let running = self.running.entry(id.clone()).or_default();
            for w in revoked(out, id) {
                running.remove(&w);
            }
            running.extend(assigned(out, id));
        }
    }

    fn of(&self, id: &str) -> BTreeSet<Work> {
        self.running.get(id).cloned().unwrap_or_default()
    }
}

// ---- helpers ----

#[test]
fn work_flattens_and_groups() {
    let list = vec![
        ConnectorAssignment { connector: "b".into(), tasks: vec![2, CONNECTOR_TASK, 0] },
        ConnectorAssignment { connector: "a".into(), tasks: vec![1, -7] },
    ];
    let work = to_work(&list);
    // -7 means nothing on the wire and is dropped.
    assert_eq!(work, set(&[c("b"), t("b", 0), t("b", 2), t("a", 1)]));
    assert_eq!(
        from_work(&work),
        vec![ConnectorAssignment { connector: "a".into(), tasks: vec![1] }, ConnectorAssignment { connector: "b".into(), tasks: vec![-1, 0, 2] }]
    );
    assert_eq!(from_work(&BTreeSet::new()), vec![]);
    assert_eq!(snapshot(0, &[("x", 2), ("a", 0)]).configured(), set(&[c("a"), c("x"), t("x", 0), t("x", 1)]));
}

#[test]
fn delays_round_up_to_whole_milliseconds() {
    assert_eq!(ceil_millis(Duration::from_micros(1500)), 2);
    assert_eq!(ceil_millis(Duration::from_millis(3)), 3);
    assert_eq!(ceil_millis(Duration::from_secs(u64::MAX)), i32::MAX);
}

// ---- eager ----

#[test]
fn eager_deals_connectors_then_tasks_round_robin() {
    let snap = snapshot(3, &[("b", 1), ("a", 2)]);
    // Given out of order: ids are sorted before dealing.
    let members = [member("m2", 3, &BTreeSet::new()), member("m1", 3, &BTreeSet::new())];
    let out = assign_eager("m1", &members, &snap);
    let expect = |tasks: Vec<ConnectorAssignment>| Assignment {
        version: 0,
        error: NO_ERROR,
        leader: "m1".into(),
        leader_url: url("m1"),
        config_offset: 3,
        assigned: Some(tasks),
        revoked: None,
        delay_ms: 0,
    };
    let ca = |name: &str, tasks: &[i32]| ConnectorAssignment { connector: name.into(), tasks: tasks.to_vec() };
    // a→m1, b→m2, then the same walk goes on: a-0→m1, a-1→m2, b-0→m1.
    assert_eq!(out["m1"], expect(vec![ca("a", &[-1, 0]), ca("b", &[0])]));
    assert_eq!(out["m2"], expect(vec![ca("a", &[1]), ca("b", &[-1])]));
    assert_eq!(out.len(), 2);
}

#[test]
fn eager_ignores_what_members_ran_and_handles_no_work() {
    let members = [member("m1", 0, &set(&[c("zombie")]))];
    let out = assign_eager("m1", &members, &snapshot(0, &[]));
    assert_eq!(out["m1"].assigned, Some(vec![]));
    assert!(assign_eager("m1", &[], &snapshot(0, &[("a", 1)])).is_empty());
}

#[test]
fn eager_config_mismatch() {
    let members = [member("m1", 5, &BTreeSet::new()), member("m2", 9, &BTreeSet::new())];
    let out = assign_eager("m1", &members, &snapshot(5, &[("a", 1)]));
    for id in ["m1", "m2"] {
        let a = &out[id];
        assert_eq!((a.version, a.error, a.config_offset, a.delay_ms), (0, CONFIG_MISMATCH, 9, 0));
        assert_eq!((a.leader.as_str(), a.leader_url.as_str()), ("m1", url("m1").as_str()));
        assert_eq!((a.assigned.clone(), a.revoked.clone()), (Some(vec![]), None));
    }
}

// ---- incremental: basics ----

#[test]
fn a_single_member_gets_everything() {
    let mut cluster = Cluster::new(Duration::ZERO);
    let snap = snapshot(4, &[("a", 2), ("b", 1)]);
    let now = Instant::now();
    let out = cluster.round(&["m1"], &snap, now);
    assert_eq!(assigned(&out, "m1"), snap.configured());
    assert_eq!(revoked(&out, "m1"), BTreeSet::new());
    let a = &out["m1"];
    assert_eq!((a.version, a.error, a.leader.as_str(), a.leader_url.as_str(), a.config_offset, a.delay_ms), (2, NO_ERROR, "m1", url("m1").as_str(), 4, 0));
}

#[test]
fn the_elected_version_is_written() {
    let mut assignor = IncrementalCooperativeAssignor::new(Duration::ZERO);
    let out = assignor.assign("m1", 1, 1, &[member("m1", 0, &BTreeSet::new())], &snapshot(0, &[]), Instant::now());
    assert_eq!(out["m1"].version, 1);
    assert_eq!((out["m1"].assigned.clone(), out["m1"].revoked.clone()), (Some(vec![]), Some(vec![])));
}

/// Three fresh members, connectors a and b with four tasks each.
fn three_balanced(max_delay: Duration, now: Instant) -> (Cluster, ClusterSnapshot) {
    let mut cluster = Cluster::new(max_delay);
    let snap = snapshot(5, &[("a", 4), ("b", 4)]);
    let out = cluster.round(&["m1", "m2", "m3"], &snap, now);
    // Connectors to the members with fewest connectors, tasks to those with fewest tasks, ties
    // in id order: a, b → m1, m2; a-0..b-3 → m1, m2, m3, m1, m2, m3, m1, m2.
    assert_eq!(assigned(&out, "m1"), set(&[c("a"), t("a", 0), t("a", 3), t("b", 2)]));
    assert_eq!(assigned(&out, "m2"), set(&[c("b"), t("a", 1), t("b", 0), t("b", 3)]));
    assert_eq!(assigned(&out, "m3"), set(&[t("a", 2), t("b", 1)]));
    assert!(out.values().all(|a| a.revoked == Some(vec![]) && a.delay_ms == 0));
    (cluster, snap)
}

#[test]
fn three_members_are_balanced_exactly() {
    let (cluster, snap) = three_balanced(Duration::ZERO, Instant::now());
    let mut seen = BTreeMap::new();
    for items in cluster.running.values() {
        for w in items {
            *seen.entry(w.clone()).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), snap.configured());
    assert!(seen.values().all(|n| *n == 1));
    let counts = |id: &str| {
        let items = cluster.of(id);
        (items.iter().filter(|w| w.is_connector()).count(), items.iter().filter(|w| !w.is_connector()).count())
    };
    assert_eq!([counts("m1"), counts("m2"), counts("m3")], [(1, 3), (1, 3), (0, 2)]);
}

#[test]
fn members_keep_what_they_run() {
    let now = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), now);
    let before = cluster.running.clone();
    for i in 1..4 {
        let out = cluster.round(&["m1", "m2", "m3"], &snap, now + Duration::from_secs(i));
        assert!(nothing_moves(&out), "{out:?}");
        assert!(out.values().all(|a| a.delay_ms == 0));
    }
    assert_eq!(cluster.running, before);
}

#[test]
fn a_joining_member_takes_only_the_excess() {
    let now = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), now);
    let ids = ["m1", "m2", "m3", "m4"];
    // Round N: 8 tasks over 4 members is 2 each; m1 and m2 give up their highest task. Connectors
    // (2 over 4) are already within one of each other. Nothing is handed out yet.
    let out = cluster.round(&ids, &snap, now + Duration::from_secs(1));
    assert_eq!(revoked(&out, "m1"), set(&[t("b", 2)]));
    assert_eq!(revoked(&out, "m2"), set(&[t("b", 3)]));
    assert_eq!(revoked(&out, "m3"), BTreeSet::new());
    assert_eq!(revoked(&out, "m4"), BTreeSet::new());
    assert!(ids.iter().all(|id| assigned(&out, id).is_empty()));
    assert!(out.values().all(|a| a.delay_ms == 0));
    // Round N+1: the revoking members rejoin without them, and the newcomer gets them.
    let out = cluster.round(&ids, &snap, now + Duration::from_secs(2));
    assert_eq!(assigned(&out, "m4"), set(&[t("b", 2), t("b", 3)]));
    assert!(["m1", "m2", "m3"].iter().all(|id| assigned(&out, id).is_empty()));
    assert!(ids.iter().all(|id| revoked(&out, id).is_empty()));
    assert_eq!(cluster.of("m1"), set(&[c("a"), t("a", 0), t("a", 3)]));
    assert_eq!(cluster.of("m2"), set(&[c("b"), t("a", 1), t("b", 0)]));
    assert_eq!(cluster.of("m3"), set(&[t("a", 2), t("b", 1)]));
    // And then it is quiet.
    assert!(nothing_moves(&cluster.round(&ids, &snap, now + Duration::from_secs(3))));
}

// ---- incremental: lost work ----

#[test]
fn without_a_delay_a_departed_members_work_moves_at_once() {
    let now = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::ZERO, now);
    let m1_before = cluster.of("m1");
    let m3_before = cluster.of("m3");
    // m2 (b, a-1, b-0, b-3) is gone.
    let out = cluster.round(&["m1", "m3"], &snap, now + Duration::from_secs(1));
    assert_eq!(assigned(&out, "m1"), set(&[t("b", 0)]));
    assert_eq!(assigned(&out, "m3"), set(&[c("b"), t("a", 1), t("b", 3)]));
    assert!(revoked(&out, "m1").is_empty() && revoked(&out, "m3").is_empty());
    assert!(out.values().all(|a| a.delay_ms == 0));
    // Nobody else's work moved.
    assert!(cluster.of("m1").is_superset(&m1_before));
    assert!(cluster.of("m3").is_superset(&m3_before));
}

#[test]
fn with_a_delay_lost_work_is_held_until_the_deadline() {
    let t0 = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), t0);
    let ids = ["m1", "m3"];
    let lost_at = t0 + Duration::from_secs(1);
    let out = cluster.round(&ids, &snap, lost_at);
    assert!(nothing_moves(&out));
    assert!(out.values().all(|a| a.delay_ms == 10_000));
    // A rebalance for some other reason while waiting: still held, the remaining time told.
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(4));
    assert!(nothing_moves(&out));
    assert!(out.values().all(|a| a.delay_ms == 6_000));
    // Rounded up, so members do not come back just before the deadline.
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(10) - Duration::from_micros(1500));
    assert!(nothing_moves(&out));
    assert!(out.values().all(|a| a.delay_ms == 2));
    // At the deadline it goes out as new work would (no candidate joined).
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(10));
    assert_eq!(assigned(&out, "m1"), set(&[t("b", 0)]));
    assert_eq!(assigned(&out, "m3"), set(&[c("b"), t("a", 1), t("b", 3)]));
    assert!(revoked(&out, "m1").is_empty() && revoked(&out, "m3").is_empty());
    assert!(out.values().all(|a| a.delay_ms == 0));
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(11));
    assert!(nothing_moves(&out) && out.values().all(|a| a.delay_ms == 0));
}

#[test]
fn a_worker_rejoining_within_the_delay_gets_the_held_work() {
    let t0 = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), t0);
    let m2_work = cluster.of("m2");
    let lost_at = t0 + Duration::from_secs(1);
    assert!(cluster.round(&["m1", "m3"], &snap, lost_at).values().all(|a| a.delay_ms == 10_000));
    // m2's worker comes back as m4 with nothing: no load-balancing while the delay is pending.
    let ids = ["m1", "m3", "m4"];
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(3));
    assert!(nothing_moves(&out));
    assert!(out.values().all(|a| a.delay_ms == 7_000));
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(10));
    assert_eq!(assigned(&out, "m4"), m2_work);
    assert!(assigned(&out, "m1").is_empty() && assigned(&out, "m3").is_empty());
    assert!(ids.iter().all(|id| revoked(&out, id).is_empty()));
    assert!(out.values().all(|a| a.delay_ms == 0));
    assert!(nothing_moves(&cluster.round(&ids, &snap, lost_at + Duration::from_secs(11))));
}

#[test]
fn a_candidate_stays_one_after_getting_new_work() {
    let t0 = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), t0);
    let m2_work = cluster.of("m2");
    let lost_at = t0 + Duration::from_secs(1);
    cluster.round(&["m1", "m3"], &snap, lost_at);
    let ids = ["m0", "m1", "m3"];
    cluster.round(&ids, &snap, lost_at + Duration::from_secs(3));
    // A new connector goes to m0 (no connectors, lowest id), so it is no longer empty...
    let grown = snapshot(6, &[("a", 4), ("b", 4), ("c", 0)]);
    let out = cluster.round(&ids, &grown, lost_at + Duration::from_secs(5));
    assert_eq!(assigned(&out, "m0"), set(&[c("c")]));
    // ...but it joined empty while the work was held, so it still gets all of it.
    let out = cluster.round(&ids, &grown, lost_at + Duration::from_secs(10));
    assert_eq!(assigned(&out, "m0"), m2_work);
    assert!(assigned(&out, "m1").is_empty() && assigned(&out, "m3").is_empty());
}

#[test]
fn no_load_balancing_while_a_delay_is_pending() {
    let t0 = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), t0);
    let lost_at = t0 + Duration::from_secs(1);
    cluster.round(&["m1", "m3"], &snap, lost_at);
    // Two empty workers join: with no delay pending, m1 (3 tasks of 8 over 4) would give one up.
    let ids = ["m1", "m3", "m4", "m5"];
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(2));
    assert!(nothing_moves(&out));
    assert!(out.values().all(|a| a.delay_ms == 8_000));
    // At the deadline: m1's excess is revoked, and the held work goes to the two candidates
    // (b → m4; a-1 → m4, b-0 → m5, b-3 → m4 by task count, ties in id order).
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(10));
    assert_eq!(revoked(&out, "m1"), set(&[t("b", 2)]));
    assert_eq!(assigned(&out, "m4"), set(&[c("b"), t("a", 1), t("b", 3)]));
    assert_eq!(assigned(&out, "m5"), set(&[t("b", 0)]));
    assert!(assigned(&out, "m1").is_empty() && assigned(&out, "m3").is_empty());
    assert!(out.values().all(|a| a.delay_ms == 0));
    // The revoked task then goes to the lightest member.
    let out = cluster.round(&ids, &snap, lost_at + Duration::from_secs(11));
    assert_eq!(assigned(&out, "m5"), set(&[t("b", 2)]));
    assert!(ids.iter().all(|id| revoked(&out, id).is_empty()));
    assert!(nothing_moves(&cluster.round(&ids, &snap, lost_at + Duration::from_secs(12))));
}

#[test]
fn new_work_is_not_held_with_lost_work() {
    let t0 = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), t0);
    cluster.round(&["m1", "m3"], &snap, t0 + Duration::from_secs(1));
    let grown = snapshot(6, &[("a", 4), ("b", 4), ("c", 1)]);
    let out = cluster.round(&["m1", "m3"], &grown, t0 + Duration::from_secs(2));
    // m3 has fewer connectors (0 vs 1) and fewer tasks (2 vs 3).
    assert_eq!(assigned(&out, "m3"), set(&[c("c"), t("c", 0)]));
    assert!(assigned(&out, "m1").is_empty());
    assert!(out.values().all(|a| a.delay_ms == 9_000 && a.config_offset == 6));
}

#[test]
fn the_delay_ends_when_the_lost_work_is_deleted() {
    let t0 = Instant::now();
    let (mut cluster, _) = three_balanced(Duration::from_secs(10), t0);
    cluster.round(&["m1", "m3"], &snapshot(5, &[("a", 4), ("b", 4)]), t0 + Duration::from_secs(1));
    // Everything m2 had (b, a-1, b-0, b-3) is gone from the config.
    let out = cluster.round(&["m1", "m3"], &snapshot(6, &[("a", 1)]), t0 + Duration::from_secs(2));
    assert_eq!(revoked(&out, "m1"), set(&[t("a", 3), t("b", 2)]));
    assert_eq!(revoked(&out, "m3"), set(&[t("a", 2), t("b", 1)]));
    assert!(assigned(&out, "m1").is_empty() && assigned(&out, "m3").is_empty());
    assert!(out.values().all(|a| a.delay_ms == 0));
}

#[test]
fn work_a_present_member_never_got_is_reassigned_at_once() {
    // The leader assigned m2 its share, but m2 never applied it (the SyncGroup was lost) and
    // rejoins with nothing: that is not lost work, and no delay is needed.
    let now = Instant::now();
    let mut cluster = Cluster::new(Duration::from_secs(10));
    let snap = snapshot(1, &[("a", 2)]);
    let first = cluster.round(&["m1", "m2"], &snap, now);
    cluster.running.remove("m2");
    let out = cluster.round(&["m1", "m2"], &snap, now + Duration::from_secs(1));
    assert_eq!(assigned(&out, "m2"), assigned(&first, "m2"));
    assert!(assigned(&out, "m1").is_empty());
    assert!(out.values().all(|a| a.delay_ms == 0));
}

// ---- incremental: revocations ----

#[test]
fn deleted_connectors_and_tasks_are_revoked_from_their_holders() {
    let now = Instant::now();
    let (mut cluster, _) = three_balanced(Duration::ZERO, now);
    // b deleted, a down to two tasks.
    let out = cluster.round(&["m1", "m2", "m3"], &snapshot(6, &[("a", 2)]), now + Duration::from_secs(1));
    assert_eq!(revoked(&out, "m1"), set(&[t("a", 3), t("b", 2)]));
    assert_eq!(revoked(&out, "m2"), set(&[c("b"), t("b", 0), t("b", 3)]));
    assert_eq!(revoked(&out, "m3"), set(&[t("a", 2), t("b", 1)]));
    assert!(["m1", "m2", "m3"].iter().all(|id| assigned(&out, id).is_empty()));
    assert_eq!(cluster.of("m1"), set(&[c("a"), t("a", 0)]));
    assert_eq!(cluster.of("m2"), set(&[t("a", 1)]));
}

#[test]
fn duplicated_work_is_revoked_from_every_holder_then_given_to_one() {
    let now = Instant::now();
    let mut cluster = Cluster::new(Duration::ZERO);
    cluster.running.insert("m1".into(), set(&[c("a"), t("a", 0)]));
    cluster.running.insert("m2".into(), set(&[t("a", 0), t("a", 1)]));
    let snap = snapshot(1, &[("a", 2)]);
    let out = cluster.round(&["m1", "m2"], &snap, now);
    assert_eq!(revoked(&out, "m1"), set(&[t("a", 0)]));
    assert_eq!(revoked(&out, "m2"), set(&[t("a", 0)]));
    // Not given to anyone until both holders have stopped it.
    assert!(assigned(&out, "m1").is_empty() && assigned(&out, "m2").is_empty());
    let out = cluster.round(&["m1", "m2"], &snap, now + Duration::from_secs(1));
    assert_eq!(assigned(&out, "m1"), set(&[t("a", 0)]));
    assert!(assigned(&out, "m2").is_empty());
    assert!(revoked(&out, "m1").is_empty() && revoked(&out, "m2").is_empty());
}

#[test]
fn config_mismatch_changes_nothing_in_the_leaders_memory() {
    let t0 = Instant::now();
    let (mut cluster, snap) = three_balanced(Duration::from_secs(10), t0);
    // m3 has read further than the leader's snapshot; m2 is gone.
    let members = [member("m1", 5, &cluster.of("m1")), member("m3", 7, &cluster.of("m3"))];
    let out = cluster.assignor.assign("m1", 2, 10, &members, &snap, t0 + Duration::from_secs(1));
    assert_eq!(out.len(), 2);
    for a in out.values() {
        assert_eq!((a.version, a.error, a.config_offset, a.delay_ms), (2, CONFIG_MISMATCH, 7, 0));
        assert_eq!((a.leader.as_str(), a.leader_url.as_str()), ("m1", url("m1").as_str()));
        assert_eq!((a.assigned.clone(), a.revoked.clone()), (Some(vec![]), Some(vec![])));
    }
    // The mismatch round did not start the delay: the next real round does, in full.
    let out = cluster.round(&["m1", "m3"], &snap, t0 + Duration::from_secs(3));
    assert!(nothing_moves(&out));
    assert!(out.values().all(|a| a.delay_ms == 10_000 && a.error == NO_ERROR));
}

#[test]
fn revocation_shares_go_to_overloaded_members_in_id_order() {
    // 7 tasks over 3 members: 2 each plus one extra. m1 (3) keeps the extra; m2 (4) drops to 2.
    let held: BTreeMap<&str, Vec<Work>> =
        BTreeMap::from([("m1", vec![t("a", 0), t("a", 1), t("a", 2)]), ("m2", vec![t("b", 0), t("b", 1), t("b", 2), t("b", 3)]), ("m3", vec![])]);
    let refs = held.iter().map(|(id, v)| (*id, v.iter().collect())).collect();
    assert_eq!(balance_revocations(7, &refs), BTreeMap::from([("m2", vec![t("b", 2), t("b", 3)])]));
    assert_eq!(balance_revocations(7, &BTreeMap::new()), BTreeMap::new());
}

// ---- convergence ----

/// Rebalances until a round changes nothing, checking on every round what must always hold.
/// Returns how many rounds it took.
fn settle(cluster: &mut Cluster, ids: &[&str], snap: &ClusterSnapshot, now: &mut Instant) -> Result<usize, TestCaseError> {
    for rounds in 1..=12 {
        let before = cluster.running.clone();
        let running_before: BTreeSet<Work> = ids.iter().flat_map(|id| before.get(*id).cloned().unwrap_or_default()).collect();
        let out = cluster.round(ids, snap, *now);
        prop_assert_eq!(out.keys().map(String::as_str).collect::<BTreeSet<_>>(), ids.iter().copied().collect::<BTreeSet<_>>());
        let mut given = BTreeSet::new();
        let mut taken = BTreeSet::new();
        for id in ids {
            let a = assigned(&out, id);
            let r = revoked(&out, id);
            // Only new or orphaned work is handed out, never twice, and revocations name work
            // the member runs.
            prop_assert!(a.is_disjoint(&running_before), "{} given running work {:?}", id, a);
            prop_assert!(a.is_disjoint(&given));
            prop_assert!(r.is_subset(&before.get(*id).cloned().unwrap_or_default()));
            given.extend(a);
            taken.extend(r);
        }
        prop_assert!(given.is_disjoint(&taken), "revoked work handed out in the same round");
        let delay = out.values().map(|a| a.delay_ms).max().unwrap_or(0);
        prop_assert!(out.values().all(|a| a.delay_ms == delay));
        if given.is_empty() && taken.is_empty() && delay == 0 {
            return Ok(rounds);
        }
        *now += Duration::from_millis(u64::try_from(delay).unwrap_or(0).max(1));
    }
    Err(TestCaseError::fail("no quiet round after 12 rebalances"))
}

fn check_balanced(cluster: &Cluster, ids: &[&str], snap: &ClusterSnapshot) -> Result<(), TestCaseError> {
    let mut owners: BTreeMap<&Work, usize> = BTreeMap::new();
    for id in ids {
        for w in cluster.running.get(*id).into_iter().flatten() {
            *owners.entry(w).or_default() += 1;
        }
    }
    let configured = snap.configured();
    prop_assert_eq!(owners.keys().copied().cloned().collect::<BTreeSet<_>>(), configured);
    prop_assert!(owners.values().all(|n| *n == 1));
    for connectors in [true, false] {
        let counts: Vec<usize> = ids.iter().map(|id| cluster.of(id).iter().filter(|w| w.is_connector() == connectors).count()).collect();
        let (lo, hi) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
        prop_assert!(hi - lo <= 1, "unbalanced {} counts {:?}", if connectors { "connector" } else { "task" }, counts);
    }
    Ok(())
}

const IDS: [&str; 8] = ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// From any starting state (work run twice, deleted work, nothing at all), then after
    /// members leave and join and the config changes, the cluster settles with every configured
    /// item run exactly once and per-member counts within one of each other.
    #[test]
    fn rebalancing_settles_balanced(
        first_size in 1usize..6,
        tasks in proptest::collection::vec(0u32..7, 0..5),
        later_tasks in proptest::collection::vec(0u32..7, 0..5),
        picks in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 40), 6),
        leaving in proptest::collection::vec(any::<bool>(), 6),
        joining in 0usize..3,
        delayed in any::<bool>(),
    ) {
        let names = ["a", "b", "c", "d", "e"];
        let snap = ClusterSnapshot { config_offset: 1, connectors: tasks.iter().enumerate().map(|(i, n)| (names[i].to_string(), *n)).collect() };
        // Starting states drawn from a superset of the config: two more tasks per connector and
        // a connector that does not exist.
        let universe: Vec<Work> = snapshot(0, &[("a", 8), ("b", 8), ("c", 8), ("d", 8), ("zz", 2)]).configured().into_iter().take(40).collect();
        let mut cluster = Cluster::new(if delayed { Duration::from_secs(10) } else { Duration::ZERO });
        let first = &IDS[..first_size];
        for (id, pick) in first.iter().zip(&picks) {
            let items = universe.iter().zip(pick).filter(|(_, p)| **p).map(|(w, _)| w.clone()).collect();
            cluster.running.insert(id.to_string(), items);
        }
        let mut now = Instant::now();
        settle(&mut cluster, first, &snap, &mut now)?;
        check_balanced(&cluster, first, &snap)?;

        let mut second: Vec<&str> = first.iter().zip(&leaving).filter(|(_, l)| !**l).map(|(id, _)| *id).collect();
        second.extend(&IDS[first_size..first_size + joining]);
        if second.is_empty() {
            second.push(IDS[7]);
        }
        let later = ClusterSnapshot { config_offset: 2, connectors: later_tasks.iter().enumerate().map(|(i, n)| (names[i].to_string(), *n)).collect() };
        settle(&mut cluster, &second, &later, &mut now)?;
        check_balanced(&cluster, &second, &later)?;
    }
}
