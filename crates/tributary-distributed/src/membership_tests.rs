//! Transitions of the membership state machine, driven by hand: no sockets, no clocks.

use super::*;
use std::time::Duration;

const SESSION: Duration = Duration::from_secs(10);
const HEARTBEAT: Duration = Duration::from_secs(3);
const BACKOFF: Duration = Duration::from_millis(100);

fn cfg() -> MembershipConfig {
    MembershipConfig { session_timeout: SESSION, heartbeat_interval: HEARTBEAT, retry_backoff: BACKOFF, retry_backoff_max: Duration::from_secs(1) }
}

fn coordinator() -> Coordinator {
    Coordinator { node_id: 1, host: "broker".into(), port: 9092 }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn join_ok(member: &str, generation: i32, leader: &str) -> JoinResponse {
    JoinResponse {
        error_code: codes::NONE,
        generation,
        protocol: Some("sessioned".into()),
        leader_id: leader.into(),
        member_id: member.into(),
        members: vec![],
    }
}

fn join_err(code: i16, member: &str) -> JoinResponse {
    JoinResponse { error_code: code, member_id: member.into(), ..Default::default() }
}

fn sync_ok(assignment: &[u8]) -> SyncResponse {
    SyncResponse { error_code: codes::NONE, protocol: Some("sessioned".into()), assignment: assignment.to_vec() }
}

fn sync_err(code: i16) -> SyncResponse {
    SyncResponse { error_code: code, ..Default::default() }
}

fn join_action(member: &str) -> Action {
    Action::JoinGroup { member_id: member.into(), reason: String::new() }
}

/// Blanks JoinGroup reasons, which are for logs only.
fn plain(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .map(|a| match a {
            Action::JoinGroup { member_id, .. } => Action::JoinGroup { member_id, reason: String::new() },
            other => other,
        })
        .collect()
}

fn sync_action(member: &str, generation: i32, assignments: Vec<(String, Vec<u8>)>) -> Action {
    Action::SyncGroup { generation, member_id: member.into(), protocol: "sessioned".into(), assignments }
}

fn joined(generation: i32, member: &str, leader: &str, assignment: &[u8]) -> Action {
    Action::Emit(GroupEvent::Joined {
        generation,
        member_id: member.into(),
        leader_id: leader.into(),
        protocol: "sessioned".into(),
        assignment: assignment.to_vec(),
    })
}

fn is_lost(a: &Action) -> bool {
    matches!(a, Action::Emit(GroupEvent::Lost { .. }))
}

/// A follower `m1` of generation 1 led by `m0`, joined at `t0`.
fn stable(t0: Instant) -> Membership {
    let mut m = Membership::new(cfg(), t0);
    assert_eq!(m.poll(t0), vec![Action::FindCoordinator]);
    assert_eq!(plain(m.on_coordinator(t0, Ok(coordinator()))), vec![join_action("")]);
    assert_eq!(plain(m.on_join(t0, join_err(codes::MEMBER_ID_REQUIRED, "m1"))), vec![join_action("m1")]);
    assert_eq!(m.on_join(t0, join_ok("m1", 1, "m0")), vec![sync_action("m1", 1, vec![])]);
    assert_eq!(m.on_sync(t0, sync_ok(b"a1")), vec![joined(1, "m1", "m0", b"a1")]);
    assert_eq!(m.state(), State::Stable);
    m
}

/// Completes a JoinGroup/SyncGroup round for `m1` as follower.
fn complete_round(m: &mut Membership, now: Instant, generation: i32) -> Vec<Action> {
    assert_eq!(m.on_join(now, join_ok("m1", generation, "m0")), vec![sync_action("m1", generation, vec![])]);
    m.on_sync(now, sync_ok(b"next"))
}

#[test]
fn a_new_member_finds_the_coordinator_and_joins_without_an_id() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    assert_eq!(m.state(), State::Unjoined);
    assert_eq!(m.poll(t0), vec![Action::FindCoordinator]);
    assert_eq!(m.state(), State::FindingCoordinator);
    assert_eq!(m.deadline(), None, "only the response is awaited");
    assert_eq!(plain(m.on_coordinator(t0, Ok(coordinator()))), vec![join_action("")]);
    assert_eq!(m.coordinator(), Some(&coordinator()));
    assert_eq!(m.state(), State::Joining);
}

#[test]
fn member_id_required_rejoins_at_once_with_the_given_id() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    assert_eq!(plain(m.on_join(t0, join_err(codes::MEMBER_ID_REQUIRED, "m-7"))), vec![join_action("m-7")]);
    assert_eq!(m.member_id(), "m-7");
}

#[test]
fn a_follower_syncs_with_no_assignments_and_announces_what_it_got() {
    let t0 = Instant::now();
    let m = stable(t0);
    assert_eq!(m.generation(), Some(1));
    assert_eq!(m.member_id(), "m1");
    assert_eq!(m.deadline(), Some(t0 + HEARTBEAT));
}

#[test]
fn the_leader_asks_its_owner_for_the_assignment_then_syncs_it() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    let mut resp = join_ok("m0", 4, "m0");
    resp.members = vec![("m0".into(), b"x".to_vec()), ("m1".into(), b"y".to_vec())];
    let input = LeaderInput { generation: 4, protocol: "sessioned".into(), leader_id: "m0".into(), members: resp.members.clone() };
    assert_eq!(m.on_join(t0, resp), vec![Action::Assign(input)]);
    assert_eq!(m.state(), State::Assigning);
    assert_eq!(m.deadline(), None, "nothing is due while the owner computes");
    let assignments = vec![("m0".to_string(), b"for-m0".to_vec()), ("m1".to_string(), b"for-m1".to_vec())];
    assert_eq!(m.on_assignment(t0, assignments.clone()), vec![sync_action("m0", 4, assignments)]);
    assert_eq!(m.on_sync(t0, sync_ok(b"for-m0")), vec![joined(4, "m0", "m0", b"for-m0")]);
}

#[test]
fn a_stable_member_heartbeats_every_interval() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    assert_eq!(m.poll(t0 + ms(2999)), vec![]);
    let hb = Action::Heartbeat { generation: 1, member_id: "m1".into() };
    assert_eq!(m.poll(t0 + HEARTBEAT), vec![hb.clone()]);
    assert_eq!(m.state(), State::Stable);
    assert_eq!(m.deadline(), Some(t0 + SESSION), "only the session timer runs while a heartbeat is out");
    assert_eq!(m.on_heartbeat(t0 + ms(3010), codes::NONE), vec![]);
    assert_eq!(m.deadline(), Some(t0 + HEARTBEAT * 2), "the interval counts from the send");
    assert_eq!(m.poll(t0 + HEARTBEAT * 2), vec![hb]);
}

#[test]
fn rebalance_in_progress_from_a_heartbeat_announces_a_rebalance_and_keeps_the_generation() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT);
    let t = t0 + ms(3010);
    assert_eq!(plain(m.on_heartbeat(t, codes::REBALANCE_IN_PROGRESS)), vec![Action::Emit(GroupEvent::Rebalancing), join_action("m1")]);
    assert_eq!(m.generation(), Some(1), "cooperative members keep their work during a rebalance");
    assert_eq!(complete_round(&mut m, t, 2), vec![joined(2, "m1", "m0", b"next")]);
    assert_eq!(m.generation(), Some(2));
}

#[test]
fn unknown_member_or_fenced_from_a_heartbeat_loses_the_generation_and_the_member_id() {
    for code in [codes::UNKNOWN_MEMBER_ID, codes::FENCED_INSTANCE_ID] {
        let t0 = Instant::now();
        let mut m = stable(t0);
        m.poll(t0 + HEARTBEAT);
        let actions = plain(m.on_heartbeat(t0 + HEARTBEAT, code));
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(is_lost(&actions[0]), "{actions:?}");
        assert_eq!(actions[1], join_action(""));
        assert_eq!(m.generation(), None);
        assert_eq!(m.member_id(), "");
    }
}

#[test]
fn illegal_generation_from_a_heartbeat_loses_the_generation_but_keeps_the_member_id() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT);
    let actions = plain(m.on_heartbeat(t0 + HEARTBEAT, codes::ILLEGAL_GENERATION));
    assert_eq!(actions[1..], [join_action("m1")]);
    match &actions[0] {
        Action::Emit(GroupEvent::Lost { reason }) => assert_eq!(reason, "Heartbeat: IllegalGeneration (22)"),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.generation(), None);
}

#[test]
fn an_unexpected_heartbeat_error_rejoins_after_a_backoff_keeping_the_generation() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    let t = t0 + HEARTBEAT;
    m.poll(t);
    // GROUP_AUTHORIZATION_FAILED
    assert_eq!(m.on_heartbeat(t, 30), vec![Action::Emit(GroupEvent::Rebalancing)]);
    assert_eq!(m.generation(), Some(1));
    assert_eq!(plain(m.poll(t + BACKOFF)), vec![join_action("m1")]);
}

#[test]
fn a_lost_coordinator_is_found_again_after_a_backoff_and_heartbeating_resumes() {
    for code in [codes::COORDINATOR_LOAD_IN_PROGRESS, codes::COORDINATOR_NOT_AVAILABLE, codes::NOT_COORDINATOR] {
        let t0 = Instant::now();
        let mut m = stable(t0);
        let t = t0 + HEARTBEAT;
        m.poll(t);
        assert_eq!(m.on_heartbeat(t, code), vec![Action::Disconnect]);
        assert_eq!(m.coordinator(), None);
        assert_eq!(m.deadline(), Some(t + BACKOFF));
        assert_eq!(m.poll(t + ms(99)), vec![]);
        assert_eq!(m.poll(t + BACKOFF), vec![Action::FindCoordinator]);
        let hb = Action::Heartbeat { generation: 1, member_id: "m1".into() };
        assert_eq!(m.on_coordinator(t + BACKOFF, Ok(coordinator())), vec![hb], "the overdue heartbeat goes out at once");
        assert_eq!(m.generation(), Some(1));
    }
}

#[test]
fn no_acknowledged_heartbeat_for_the_session_timeout_loses_the_generation() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT); // never answered
    assert_eq!(m.poll(t0 + SESSION - ms(1)), vec![]);
    let actions = plain(m.poll(t0 + SESSION));
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert_eq!(actions[0], Action::Disconnect, "the hung heartbeat is abandoned");
    match &actions[1] {
        Action::Emit(GroupEvent::Lost { reason }) => assert_eq!(reason, "no heartbeat acknowledged for 10000 ms (session timeout)"),
        other => panic!("{other:?}"),
    }
    assert_eq!(actions[2], Action::FindCoordinator);
    assert_eq!(m.generation(), None);
    assert_eq!(m.member_id(), "m1", "the coordinator says whether the id is still good");
    assert_eq!(plain(m.on_coordinator(t0 + SESSION, Ok(coordinator()))), vec![join_action("m1")]);
    // A late stale heartbeat answer changes nothing.
    assert_eq!(m.on_heartbeat(t0 + SESSION, codes::NONE), vec![]);
}

#[test]
fn a_coordinator_unreachable_for_the_session_timeout_loses_the_generation() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    let t = t0 + HEARTBEAT;
    m.poll(t);
    assert_eq!(m.on_request_failed(t, "connection reset"), vec![Action::Disconnect]);
    let mut lost_at = None;
    while lost_at.is_none() {
        let now = m.deadline().expect("a timer runs");
        let actions = m.poll(now);
        if actions.iter().any(is_lost) {
            lost_at = Some(now);
        } else if actions == vec![Action::FindCoordinator] {
            m.on_request_failed(now, "connection refused");
        }
        assert!(now <= t0 + SESSION, "lost too late: {now:?}");
    }
    assert_eq!(lost_at, Some(t0 + SESSION));
}

#[test]
fn a_long_join_does_not_count_against_the_session() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.rejoin(t0, "new config");
    assert_eq!(m.deadline(), None);
    let late = t0 + SESSION * 5;
    assert_eq!(m.poll(late), vec![]);
    assert_eq!(complete_round(&mut m, late, 2), vec![joined(2, "m1", "m0", b"next")]);
}

#[test]
fn rebalance_in_progress_from_sync_joins_again_without_losing_the_generation() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT);
    m.on_heartbeat(t0 + HEARTBEAT, codes::REBALANCE_IN_PROGRESS);
    m.on_join(t0 + HEARTBEAT, join_ok("m1", 2, "m0"));
    let actions = plain(m.on_sync(t0 + HEARTBEAT, sync_err(codes::REBALANCE_IN_PROGRESS)));
    assert_eq!(actions, vec![join_action("m1")], "Rebalancing was already announced");
    assert_eq!(m.generation(), Some(1));
    assert_eq!(complete_round(&mut m, t0 + HEARTBEAT, 3), vec![joined(3, "m1", "m0", b"next")]);
}

#[test]
fn membership_errors_from_sync_lose_a_held_generation() {
    for (code, member_after) in [(codes::UNKNOWN_MEMBER_ID, ""), (codes::FENCED_INSTANCE_ID, ""), (codes::ILLEGAL_GENERATION, "m1")] {
        let t0 = Instant::now();
        let mut m = stable(t0);
        m.rejoin(t0, "test");
        m.on_join(t0, join_ok("m1", 2, "m0"));
        let actions = plain(m.on_sync(t0, sync_err(code)));
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(is_lost(&actions[0]));
        assert_eq!(actions[1], join_action(member_after));
    }
}

#[test]
fn membership_errors_before_any_generation_emit_nothing() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    m.on_join(t0, join_ok("m1", 1, "m0"));
    assert_eq!(plain(m.on_sync(t0, sync_err(codes::UNKNOWN_MEMBER_ID))), vec![join_action("")]);
    assert_eq!(plain(m.on_join(t0, join_err(codes::ILLEGAL_GENERATION, ""))), vec![join_action("")]);
}

#[test]
fn membership_errors_from_join_lose_a_held_generation() {
    for (code, member_after) in [(codes::UNKNOWN_MEMBER_ID, ""), (codes::ILLEGAL_GENERATION, "m1")] {
        let t0 = Instant::now();
        let mut m = stable(t0);
        m.rejoin(t0, "test");
        let actions = plain(m.on_join(t0, join_err(code, "")));
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(is_lost(&actions[0]));
        assert_eq!(actions[1], join_action(member_after));
    }
}

#[test]
fn rebalance_in_progress_from_join_joins_again_at_once() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.rejoin(t0, "test");
    assert_eq!(plain(m.on_join(t0, join_err(codes::REBALANCE_IN_PROGRESS, ""))), vec![join_action("m1")]);
    assert_eq!(m.generation(), Some(1));
}

#[test]
fn coordinator_errors_from_join_or_sync_rediscover_then_join() {
    for code in [codes::COORDINATOR_LOAD_IN_PROGRESS, codes::COORDINATOR_NOT_AVAILABLE, codes::NOT_COORDINATOR] {
        for in_sync in [false, true] {
            let t0 = Instant::now();
            let mut m = Membership::new(cfg(), t0);
            m.poll(t0);
            m.on_coordinator(t0, Ok(coordinator()));
            let actions = if in_sync {
                m.on_join(t0, join_ok("m1", 1, "m0"));
                m.on_sync(t0, sync_err(code))
            } else {
                m.on_join(t0, join_err(code, ""))
            };
            assert_eq!(actions, vec![Action::Disconnect]);
            assert_eq!(m.state(), State::Unjoined);
            assert_eq!(m.poll(t0 + BACKOFF), vec![Action::FindCoordinator]);
            let expected = join_action(if in_sync { "m1" } else { "" });
            assert_eq!(plain(m.on_coordinator(t0 + BACKOFF, Ok(coordinator()))), vec![expected]);
        }
    }
}

#[test]
fn other_join_errors_back_off_exponentially_up_to_the_maximum() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    let mut now = t0;
    let mut pauses = Vec::new();
    for _ in 0..6 {
        // INCONSISTENT_GROUP_PROTOCOL
        assert_eq!(m.on_join(now, join_err(23, "")), vec![]);
        let at = m.deadline().expect("backoff timer");
        pauses.push((at - now).as_millis());
        now = at;
        assert_eq!(plain(m.poll(now)), vec![join_action("")]);
    }
    assert_eq!(pauses, vec![100, 200, 400, 800, 1000, 1000]);
    // Success resets the backoff.
    m.on_join(now, join_ok("m1", 1, "m0"));
    m.on_sync(now, sync_err(99));
    assert_eq!(m.deadline(), Some(now + BACKOFF));
}

#[test]
fn a_join_without_a_protocol_or_a_sync_naming_another_is_retried() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    let mut resp = join_ok("m1", 1, "m0");
    resp.protocol = None;
    assert_eq!(m.on_join(t0, resp), vec![]);
    assert_eq!(plain(m.poll(t0 + BACKOFF)), vec![join_action("m1")]);
    m.on_join(t0 + BACKOFF, join_ok("m1", 1, "m0"));
    let mut sync = sync_ok(b"a");
    sync.protocol = Some("default".into());
    assert_eq!(m.on_sync(t0 + BACKOFF, sync), vec![]);
    assert_eq!(m.generation(), None);
    assert_eq!(plain(m.poll(t0 + BACKOFF * 3)), vec![join_action("m1")]);
}

#[test]
fn the_owner_asks_for_a_rebalance_while_stable() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    assert_eq!(plain(m.rejoin(t0 + ms(5), "new config")), vec![Action::Emit(GroupEvent::Rebalancing), join_action("m1")]);
    assert_eq!(m.rejoin(t0 + ms(6), "again"), vec![], "coalesced with the one under way? no: queued once");
    assert_eq!(m.state(), State::Joining);
    assert_eq!(m.generation(), Some(1));
}

#[test]
fn a_rebalance_asked_for_while_a_heartbeat_is_out_follows_its_answer() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT);
    assert_eq!(m.rejoin(t0 + HEARTBEAT, "new config"), vec![Action::Emit(GroupEvent::Rebalancing)]);
    assert_eq!(plain(m.on_heartbeat(t0 + HEARTBEAT, codes::NONE)), vec![join_action("m1")]);
}

#[test]
fn a_rebalance_asked_for_during_a_rebalance_runs_after_it() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.rejoin(t0, "first");
    assert_eq!(m.rejoin(t0, "second"), vec![], "Rebalancing was announced already");
    m.on_join(t0, join_ok("m1", 2, "m0"));
    let actions = plain(m.on_sync(t0, sync_ok(b"x")));
    assert_eq!(actions, vec![joined(2, "m1", "m0", b"x"), Action::Emit(GroupEvent::Rebalancing), join_action("m1")]);
    assert_eq!(complete_round(&mut m, t0, 3), vec![joined(3, "m1", "m0", b"next")], "and only once");
    assert_eq!(m.state(), State::Stable);
}

#[test]
fn failed_requests_are_retried_after_a_backoff() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    assert_eq!(m.on_request_failed(t0, "refused"), vec![]);
    assert_eq!(m.poll(t0 + BACKOFF), vec![Action::FindCoordinator]);
    m.on_coordinator(t0 + BACKOFF, Ok(coordinator()));
    let t = t0 + BACKOFF;
    assert_eq!(m.on_request_failed(t, "timed out"), vec![Action::Disconnect], "a failed JoinGroup forgets the coordinator");
    assert_eq!(m.deadline(), Some(t + BACKOFF), "finding the coordinator reset the backoff");
    assert_eq!(m.poll(t + BACKOFF), vec![Action::FindCoordinator]);
    assert_eq!(plain(m.on_coordinator(t + BACKOFF, Ok(coordinator()))), vec![join_action("")]);
    // FindCoordinator errors back off too.
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    assert_eq!(m.on_coordinator(t0, Err(codes::COORDINATOR_NOT_AVAILABLE)), vec![]);
    assert_eq!(m.poll(t0 + BACKOFF), vec![Action::FindCoordinator]);
}

#[test]
fn leaving_while_stable_sends_leave_group_then_stops() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    assert_eq!(m.leave(t0), vec![Action::LeaveGroup { member_id: "m1".into() }]);
    assert_eq!(m.state(), State::Leaving);
    assert_eq!(m.deadline(), None);
    assert_eq!(m.on_leave(t0, codes::NONE), vec![]);
    assert!(m.is_left());
    assert_eq!(m.state(), State::Left);
    assert_eq!(m.poll(t0 + SESSION * 2), vec![]);
    assert_eq!(m.rejoin(t0, "late"), vec![]);
}

#[test]
fn leaving_mid_request_abandons_it_for_a_fresh_connection() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.rejoin(t0, "x");
    assert_eq!(m.leave(t0), vec![Action::Disconnect, Action::LeaveGroup { member_id: "m1".into() }]);
    assert_eq!(m.on_join(t0, join_ok("m1", 2, "m0")), vec![], "the abandoned JoinGroup is not expected");
}

#[test]
fn leaving_while_the_leader_assigns_drops_the_assignment() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    m.on_join(t0, join_ok("m0", 1, "m0"));
    assert_eq!(m.leave(t0), vec![Action::LeaveGroup { member_id: "m0".into() }]);
    assert_eq!(m.on_assignment(t0, vec![]), vec![]);
}

#[test]
fn leaving_before_the_coordinator_named_the_member_sends_nothing() {
    let t0 = Instant::now();
    let mut m = Membership::new(cfg(), t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(coordinator()));
    assert_eq!(m.leave(t0), vec![Action::Disconnect]);
    assert!(m.is_left());
}

#[test]
fn leaving_without_a_coordinator_looks_it_up_once() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT);
    m.on_heartbeat(t0 + HEARTBEAT, codes::NOT_COORDINATOR);
    assert_eq!(m.leave(t0 + HEARTBEAT), vec![Action::FindCoordinator], "no backoff when leaving");
    assert_eq!(m.on_coordinator(t0 + HEARTBEAT, Ok(coordinator())), vec![Action::LeaveGroup { member_id: "m1".into() }]);

    let mut m = stable(t0);
    m.poll(t0 + HEARTBEAT);
    m.on_heartbeat(t0 + HEARTBEAT, codes::NOT_COORDINATOR);
    m.leave(t0 + HEARTBEAT);
    assert_eq!(m.on_request_failed(t0 + HEARTBEAT, "refused"), vec![]);
    assert!(m.is_left(), "a failed lookup ends the leave; the session timeout does the rest");
}

#[test]
fn responses_nobody_waits_for_are_ignored() {
    let t0 = Instant::now();
    let mut m = stable(t0);
    assert_eq!(m.on_heartbeat(t0, codes::UNKNOWN_MEMBER_ID), vec![]);
    assert_eq!(m.on_join(t0, join_err(codes::UNKNOWN_MEMBER_ID, "")), vec![]);
    assert_eq!(m.on_sync(t0, sync_err(codes::ILLEGAL_GENERATION)), vec![]);
    assert_eq!(m.on_request_failed(t0, "x"), vec![]);
    assert_eq!(m.generation(), Some(1));
    assert_eq!(m.state(), State::Stable);
}

#[test]
fn error_names_are_kafkas() {
    assert_eq!(error_name(0), "NONE");
    assert_eq!(error_name(27), "RebalanceInProgress (27)");
    assert_eq!(error_name(-12345), "error code -12345");
}
