//! The worker-group membership client against a real broker: members join a `connect` group,
//! the leader's hooks assign, rebalances follow joins, leaves, crashes and requests, and every
//! member sees exactly its own assignment.
//!
//! Each test forms its own group (unique id) and they run in parallel; the crash test waits out
//! the broker's minimum session timeout (6 s), the others take a few seconds each.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tributary_distributed::group_client::{GroupEvent, GroupHooks, GroupMember, GroupSettings, LeaderInput};

const SESSION: Duration = Duration::from_millis(6000);
const HEARTBEAT: Duration = Duration::from_millis(500);
/// Plenty for a join while the broker is healthy.
const EVENT_WAIT: Duration = Duration::from_secs(15);

/// The broker under test; as every broker test, it fails when `TRIBUTARY_TEST_BOOTSTRAP` is unset.
fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP").expect("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka)")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Offers `sessioned` then `compatible`, and as leader gives every member `for-<its id>`,
/// remembering what it was asked to assign.
struct TestHooks {
    name: String,
    /// Appended to the `sessioned` metadata, to change it.
    tag: Mutex<String>,
    asked: Mutex<Vec<LeaderInput>>,
}

#[async_trait::async_trait]
impl GroupHooks for TestHooks {
    async fn metadata(&self) -> Vec<(String, Vec<u8>)> {
        let tag = self.tag.lock().expect("hooks lock").clone();
        vec![("sessioned".into(), format!("m-{}{tag}", self.name).into_bytes()), ("compatible".into(), format!("c-{}", self.name).into_bytes())]
    }
    async fn assign(&self, input: LeaderInput) -> Vec<(String, Vec<u8>)> {
        let out = input.members.iter().map(|(id, _)| (id.clone(), format!("for-{id}").into_bytes())).collect();
        self.asked.lock().expect("hooks lock").push(input);
        out
    }
}

struct Member {
    name: String,
    hooks: Arc<TestHooks>,
    client: GroupMember,
    id: String,
}

impl Member {
    fn spawn(bootstrap: &str, group: &str, name: &str) -> Member {
        let hooks = Arc::new(TestHooks { name: name.to_string(), tag: Mutex::default(), asked: Mutex::new(Vec::new()) });
        let settings = GroupSettings {
            bootstrap_servers: vec![bootstrap.to_string()],
            group_id: group.to_string(),
            client_id: format!("test-{name}"),
            session_timeout: SESSION,
            rebalance_timeout: Duration::from_secs(10),
            heartbeat_interval: HEARTBEAT,
            security: tributary_distributed::GroupSecurity::plaintext(),
        };
        let client = GroupMember::spawn(settings, hooks.clone());
        Member { name: name.to_string(), hooks, client, id: String::new() }
    }

    async fn event(&mut self) -> GroupEvent {
        match tokio::time::timeout(EVENT_WAIT, self.client.next_event()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("{}: the membership task ended", self.name),
            Err(_) => panic!("{}: no event within {EVENT_WAIT:?}", self.name),
        }
    }

    /// The next event must be `Joined` for `generation` led by `leader` (this member if empty),
    /// carrying this member's own bytes.
    async fn expect_joined(&mut self, generation: i32, leader: &str) {
        match self.event().await {
            GroupEvent::Joined { generation: g, member_id, leader_id, protocol, assignment } => {
                if self.id.is_empty() {
                    self.id = member_id.clone();
                }
                let leader = if leader.is_empty() { self.id.as_str() } else { leader };
                assert_eq!(
                    (g, member_id.as_str(), leader_id.as_str(), protocol.as_str()),
                    (generation, self.id.as_str(), leader, "sessioned"),
                    "{}",
                    self.name
                );
                assert_eq!(String::from_utf8_lossy(&assignment), format!("for-{}", self.id), "{}", self.name);
            }
            other => panic!("{}: expected Joined generation {generation}, got {other:?}", self.name),
        }
    }

    async fn expect_rebalancing(&mut self) {
        let event = self.event().await;
        assert_eq!(event, GroupEvent::Rebalancing, "{}", self.name);
    }

    /// What the leader was last asked to assign: generation and (member id, metadata), sorted.
    fn last_assignment_input(&self) -> (i32, Vec<(String, String)>) {
        let asked = self.hooks.asked.lock().expect("hooks lock");
        let input = asked.last().unwrap_or_else(|| panic!("{} never led", self.name));
        assert_eq!(input.protocol, "sessioned");
        assert_eq!(input.leader_id, self.id);
        let mut members: Vec<(String, String)> = input.members.iter().map(|(id, m)| (id.clone(), String::from_utf8_lossy(m).into_owned())).collect();
        members.sort();
        (input.generation, members)
    }
}

/// `(id, "m-<name>")` for each member, sorted: what the leader should be asked to assign.
fn roster(members: &[&Member]) -> Vec<(String, String)> {
    let mut r: Vec<(String, String)> = members.iter().map(|m| (m.id.clone(), format!("m-{}", m.name))).collect();
    r.sort();
    r
}

/// Members `a` and `b` in a fresh group, generation 2 led by `a`: `a` joins alone (generation 1),
/// then `b` joins and `a` rejoins.
async fn pair(bootstrap: &str, group: &str) -> (Member, Member) {
    let mut a = Member::spawn(bootstrap, group, "a");
    a.expect_joined(1, "").await;
    assert_eq!(a.last_assignment_input(), (1, roster(&[&a])));
    let mut b = Member::spawn(bootstrap, group, "b");
    a.expect_rebalancing().await;
    a.expect_joined(2, "").await;
    let leader = a.id.clone();
    b.expect_joined(2, &leader).await;
    assert_ne!(a.id, b.id);
    (a, b)
}

/// A third member `c` joins a pair: generation 3, still led by `a`.
async fn trio(bootstrap: &str, group: &str) -> (Member, Member, Member) {
    let (mut a, mut b) = pair(bootstrap, group).await;
    let mut c = Member::spawn(bootstrap, group, "c");
    let leader = a.id.clone();
    a.expect_rebalancing().await;
    b.expect_rebalancing().await;
    a.expect_joined(3, "").await;
    b.expect_joined(3, &leader).await;
    c.expect_joined(3, &leader).await;
    (a, b, c)
}

#[tokio::test]
async fn two_members_share_a_generation_and_get_their_own_assignments() {
    let bootstrap = bootstrap();
    let group = unique("group-pair");
    let (a, b) = pair(&bootstrap, &group).await;
    assert_eq!(a.last_assignment_input(), (2, roster(&[&a, &b])));
    assert!(b.hooks.asked.lock().expect("hooks lock").is_empty(), "only the leader assigns");
    a.client.leave().await;
    b.client.leave().await;
}

#[tokio::test]
async fn a_third_member_rebalances_the_group_and_everybody_is_in_it() {
    let bootstrap = bootstrap();
    let group = unique("group-trio");
    let (a, b, c) = trio(&bootstrap, &group).await;
    assert_eq!(a.last_assignment_input(), (3, roster(&[&a, &b, &c])));
    for m in [a, b, c] {
        m.client.leave().await;
    }
}

#[tokio::test]
async fn the_others_rebalance_within_two_seconds_of_a_leave() {
    let bootstrap = bootstrap();
    let group = unique("group-leave");
    let (mut a, mut b, c) = trio(&bootstrap, &group).await;
    let started = Instant::now();
    c.client.leave().await;
    let leader = a.id.clone();
    a.expect_rebalancing().await;
    b.expect_rebalancing().await;
    a.expect_joined(4, "").await;
    b.expect_joined(4, &leader).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "rebalance after a leave took {took:?}");
    assert_eq!(a.last_assignment_input(), (4, roster(&[&a, &b])));
    a.client.leave().await;
    b.client.leave().await;
}

#[tokio::test]
async fn a_crashed_member_is_expired_after_the_session_timeout() {
    let bootstrap = bootstrap();
    let group = unique("group-crash");
    let (mut a, b) = pair(&bootstrap, &group).await;
    let started = Instant::now();
    drop(b); // no LeaveGroup: the coordinator only notices when the session runs out
    a.expect_rebalancing().await;
    a.expect_joined(3, "").await;
    let took = started.elapsed();
    // Its last heartbeat was at most one interval before the crash.
    assert!(took >= SESSION - HEARTBEAT, "expired after {took:?}: the dropped member must not have left");
    assert!(took < Duration::from_secs(12), "expired after {took:?}");
    assert_eq!(a.last_assignment_input(), (3, roster(&[&a])));
    a.client.leave().await;
}

/// The classic coordinator rebalances for a JoinGroup from a stable group's leader, or from a
/// follower whose metadata changed; a follower rejoining with the same metadata just gets the
/// current generation back (Kafka's `GroupCoordinator` does this to spare the group).
#[tokio::test]
async fn rejoin_starts_a_new_generation_from_the_leader_or_with_new_metadata() {
    let bootstrap = bootstrap();
    let group = unique("group-rejoin");
    let (mut a, mut b) = pair(&bootstrap, &group).await;
    let leader = a.id.clone();

    a.client.rejoin("the leader asks");
    a.expect_rebalancing().await;
    b.expect_rebalancing().await;
    a.expect_joined(3, "").await;
    b.expect_joined(3, &leader).await;
    assert_eq!(a.last_assignment_input(), (3, roster(&[&a, &b])));

    b.client.rejoin("same metadata");
    b.expect_rebalancing().await;
    b.expect_joined(3, &leader).await;

    *b.hooks.tag.lock().expect("hooks lock") = "-v2".into();
    b.client.rejoin("new metadata");
    b.expect_rebalancing().await;
    a.expect_rebalancing().await;
    a.expect_joined(4, "").await;
    b.expect_joined(4, &leader).await;
    let mut expected = vec![(a.id.clone(), "m-a".to_string()), (b.id.clone(), "m-b-v2".to_string())];
    expected.sort();
    assert_eq!(a.last_assignment_input(), (4, expected));
    a.client.leave().await;
    b.client.leave().await;
}
