//! The group leader's work assignment: who runs which connector and task (Kafka Connect's
//! `EagerAssignor` and `IncrementalCooperativeAssignor`, reference §6.3–6.4).
//!
//! Pure: the herder hands in the JoinGroup members and its config snapshot, and gets back the
//! SyncGroup assignment for every member. Everything is kept in `BTreeMap`s/`BTreeSet`s so the
//! same inputs always give the same output, which the tests rely on.
//!
//! Member metadata comes from the network: nothing here assumes it is consistent (an item may be
//! reported by several members, or be one the config no longer has, or carry a bogus task id).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::connect_protocol::{Assignment, ConnectorAssignment, WorkerMetadata, CONFIG_MISMATCH, CONNECTOR_TASK, NO_ERROR};

/// One group member as the leader sees it after JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub member_id: String,
    pub metadata: WorkerMetadata,
}

/// What the leader's config snapshot says should run: every connector and its committed task
/// count (task ids `0..n`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    pub config_offset: i64,
    pub connectors: BTreeMap<String, u32>,
}

impl ClusterSnapshot {
    /// Every configured item. The set's order (all connectors by name, then all tasks by
    /// connector name and id) is exactly the order the eager assignor hands work out in.
    pub fn configured(&self) -> BTreeSet<Work> {
        let connectors = self.connectors.keys().map(|c| Work::Connector(c.clone()));
        let tasks = self.connectors.iter().flat_map(|(c, n)| (0..*n).map(move |t| Work::Task(c.clone(), t)));
        connectors.chain(tasks).collect()
    }
}

/// An item of work.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Work {
    Connector(String),
    Task(String, u32),
}

impl Work {
    fn is_connector(&self) -> bool {
        matches!(self, Work::Connector(_))
    }
}

/// Flattens an assignment list; the task id [`CONNECTOR_TASK`] stands for the connector itself.
/// Other negative ids mean nothing in the protocol and are dropped rather than trusted.
pub fn to_work(items: &[ConnectorAssignment]) -> BTreeSet<Work> {
    let mut out = BTreeSet::new();
    for item in items {
        for &task in &item.tasks {
            if task == CONNECTOR_TASK {
                out.insert(Work::Connector(item.connector.clone()));
            } else if let Ok(id) = u32::try_from(task) {
                out.insert(Work::Task(item.connector.clone(), id));
            }
        }
    }
    out
}

/// Groups work by connector (connectors sorted), the connector sentinel first and then the task
/// ids ascending, e.g. `{c, c-0, c-2}` → `[{connector: "c", tasks: [-1, 0, 2]}]`.
pub fn from_work(items: &BTreeSet<Work>) -> Vec<ConnectorAssignment> {
    let mut grouped: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    // The set holds every connector before any task, so each list starts with the sentinel and
    // its tasks then arrive in ascending order.
    for item in items {
        match item {
            Work::Connector(c) => grouped.entry(c).or_default().push(CONNECTOR_TASK),
            // A task id past i32::MAX cannot be written on the wire; none is ever configured.
            Work::Task(c, t) => {
                if let Ok(t) = i32::try_from(*t) {
                    grouped.entry(c).or_default().push(t);
                }
            }
        }
    }
    grouped.into_iter().map(|(connector, tasks)| ConnectorAssignment { connector: connector.to_string(), tasks }).collect()
}

/// What a member says it runs now (`None`: nothing).
fn reported(member: &Member) -> BTreeSet<Work> {
    member.metadata.current_assignment.as_ref().and_then(|a| a.assigned.as_deref()).map(to_work).unwrap_or_default()
}

fn leader_url(leader_id: &str, members: &[Member]) -> String {
    members.iter().find(|m| m.member_id == leader_id).map(|m| m.metadata.url.clone()).unwrap_or_default()
}

/// The answer when some member has read further into the config topic than the leader: nobody
/// may start anything computed from a stale snapshot, so everyone gets CONFIG_MISMATCH and the
/// offset to catch up to (§6.5 says what members then do).
fn config_mismatch(leader_id: &str, version: i16, members: &[Member], snapshot: &ClusterSnapshot) -> Option<BTreeMap<String, Assignment>> {
    let max_offset = members.iter().map(|m| m.metadata.config_offset).max()?;
    if max_offset <= snapshot.config_offset {
        return None;
    }
    let url = leader_url(leader_id, members);
    let out = members.iter().map(|m| {
        let assignment = Assignment {
            version,
            error: CONFIG_MISMATCH,
            leader: leader_id.to_string(),
            leader_url: url.clone(),
            config_offset: max_offset,
            assigned: Some(Vec::new()),
            // Version 0 has no revoked list on the wire: None, as decoding one gives.
            revoked: (version >= 1).then(Vec::new),
            delay_ms: 0,
        };
        (m.member_id.clone(), assignment)
    });
    Some(out.collect())
}

/// Eager assignment (protocol `default`, version 0), §6.3: every member has stopped everything,
/// so the whole configured set is dealt out afresh. Member ids sorted; one circular walk over
/// them gives out the connectors in name order and then, continuing the same walk, the tasks
/// (connector name order, ids ascending). Every member gets its full assignment in `assigned`,
/// `revoked: None`, delay 0.
pub fn assign_eager(leader_id: &str, members: &[Member], snapshot: &ClusterSnapshot) -> BTreeMap<String, Assignment> {
    if let Some(mismatch) = config_mismatch(leader_id, 0, members, snapshot) {
        return mismatch;
    }
    let mut work: BTreeMap<&str, BTreeSet<Work>> = members.iter().map(|m| (m.member_id.as_str(), BTreeSet::new())).collect();
    let ids: Vec<&str> = work.keys().copied().collect();
    // `cycle` over no members yields nothing, so no members means nothing assigned.
    for (item, id) in snapshot.configured().into_iter().zip(ids.iter().cycle()) {
        if let Some(set) = work.get_mut(id) {
            set.insert(item);
        }
    }
    let url = leader_url(leader_id, members);
    work.into_iter()
        .map(|(id, set)| {
            let assignment = Assignment {
                version: 0,
                error: NO_ERROR,
                leader: leader_id.to_string(),
                leader_url: url.clone(),
                config_offset: snapshot.config_offset,
                assigned: Some(from_work(&set)),
                revoked: None,
                delay_ms: 0,
            };
            (id.to_string(), assignment)
        })
        .collect()
}

/// How much of each kind of work a member holds: connectors and tasks are balanced separately,
/// since a connector instance is much lighter than a task.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    connectors: usize,
    tasks: usize,
}

impl Load {
    fn of(&self, item: &Work) -> usize {
        if item.is_connector() {
            self.connectors
        } else {
            self.tasks
        }
    }

    fn add(&mut self, item: &Work) {
        if item.is_connector() {
            self.connectors += 1;
        } else {
            self.tasks += 1;
        }
    }
}

/// Gives each item, in order, to the least-loaded of `eligible` for its kind, ties to the lowest
/// member id: with equal loads this deals round-robin in member id order.
fn place<'a>(
    items: impl IntoIterator<Item = Work>,
    eligible: &BTreeSet<&'a str>,
    loads: &mut BTreeMap<&'a str, Load>,
    assigned: &mut BTreeMap<&'a str, BTreeSet<Work>>,
) {
    for item in items {
        let Some(target) = eligible.iter().copied().min_by_key(|id| (loads.get(id).map_or(0, |l| l.of(&item)), *id)) else { return };
        loads.entry(target).or_default().add(&item);
        assigned.entry(target).or_default().insert(item);
    }
}

/// Kafka's `loadBalancingRevocations` for one kind of work: with `total` items over the members,
/// each should hold ⌊total/members⌋, and `total % members` of them one more. Members above that
/// lose their excess, highest items first (stable, so the same items are chosen every time). The
/// extra slots go to over-loaded members in member id order: each one given to an over-loaded
/// member saves exactly one revocation, so the order only decides which member keeps one more.
fn balance_revocations<'a>(total: usize, held: &BTreeMap<&'a str, Vec<&Work>>) -> BTreeMap<&'a str, Vec<Work>> {
    let mut out = BTreeMap::new();
    if held.is_empty() {
        return out;
    }
    let min = total / held.len();
    let mut extras = total % held.len();
    for (id, items) in held {
        if items.len() <= min {
            continue;
        }
        let max = if extras > 0 {
            extras -= 1;
            min + 1
        } else {
            min
        };
        if items.len() > max {
            // `items` is ascending: the tail is the highest names and ids.
            out.insert(*id, items[max..].iter().map(|w| (*w).clone()).collect());
        }
    }
    out
}

/// Rounds up, so members told to rejoin after the delay do so at or after the deadline rather
/// than a fraction of a millisecond before it (which would cost an extra, useless rebalance).
fn ceil_millis(d: Duration) -> i32 {
    i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
}

/// Incremental cooperative assignment (protocols `compatible` and `sessioned`), §6.4 / KIP-415:
/// members keep running their work across rebalances and are only told what to start and what
/// to stop. One instance lives on the leader and remembers what it assigned, so that it can tell
/// work that was lost with a departed member from work that is new.
///
/// Differences from Kafka's `IncrementalCooperativeAssignor`:
/// * No exponential backoff of consecutive load-balancing revocations: a member that joins
///   while work is being moved causes revocations in the very next round. Balance is still
///   reached (each round only moves excess items), just without damping join storms.
/// * The memory is never reset when a generation is skipped (Kafka resets it when the last
///   completed generation is not the one it remembers). It does not need to be: an item the
///   memory gives to a member that is still present but does not run it (the assignment never
///   reached it) is treated as new and assigned at once, and only items of members that are
///   gone are held back. Kafka's delay applies to every lost item as soon as any previous
///   member is missing; here it applies to the departed members' items only.
/// * Workers that join empty become candidates for held items in every round that holds them,
///   including the round the delay expires (Kafka collects candidates only while waiting).
///   Held items are placed least-loaded among the candidates, not strictly round-robin.
///
/// The delay (`scheduled.rebalance.max.delay.ms`) exists so a worker that bounces gets its
/// work back instead of the cluster reshuffling twice; the herder's default is a small delay.
/// With a zero delay, lost work is reassigned in the round it is noticed.
#[derive(Debug, Clone)]
pub struct IncrementalCooperativeAssignor {
    max_delay: Duration,
    /// The full assignment each member was left with by the last round.
    previous: BTreeMap<String, BTreeSet<Work>>,
    /// Lost items held back while a delay is pending (their owners are gone, so they are in no
    /// member's `previous` entry any more).
    held: BTreeSet<Work>,
    /// When held items are reassigned; `Some` exactly while a delay is pending.
    deadline: Option<Instant>,
    /// Members that joined with nothing while a delay was pending: likely the departed workers
    /// back under new member ids, so they get the held items first.
    candidates: BTreeSet<String>,
}

impl IncrementalCooperativeAssignor {
    /// `max_delay`: how long lost work is held for its owner to come back (0: not at all).
    pub fn new(max_delay: Duration) -> Self {
        // The delay travels as i32 milliseconds; a longer one could never be told to members.
        let max_delay = max_delay.min(Duration::from_millis(i32::MAX as u64));
        Self { max_delay, previous: BTreeMap::new(), held: BTreeSet::new(), deadline: None, candidates: BTreeSet::new() }
    }

    /// One rebalance. `version` is the elected protocol's version (1 or 2), written into every
    /// assignment; `now` is a monotonic clock reading. `_generation` is accepted for the herder's
    /// convenience and not used (see the type's documentation on memory resets).
    ///
    /// The returned map has exactly the given member ids as keys. In each assignment `assigned`
    /// holds only what that member must start and `revoked` what it must stop; a CONFIG_MISMATCH
    /// round leaves the assignor's memory as it was.
    pub fn assign(
        &mut self,
        leader_id: &str,
        version: i16,
        _generation: i32,
        members: &[Member],
        snapshot: &ClusterSnapshot,
        now: Instant,
    ) -> BTreeMap<String, Assignment> {
        if let Some(mismatch) = config_mismatch(leader_id, version, members, snapshot) {
            return mismatch;
        }
        let configured = snapshot.configured();

        // What each member runs, as reported (a member id listed twice: the union).
        let mut running: BTreeMap<&str, BTreeSet<Work>> = BTreeMap::new();
        for m in members {
            running.entry(m.member_id.as_str()).or_default().extend(reported(m));
        }
        let mut holders: BTreeMap<&Work, usize> = BTreeMap::new();
        for item in running.values().flatten() {
            *holders.entry(item).or_default() += 1;
        }

        // 1. Deleted items and items run twice are stopped everywhere they run. A duplicate is
        //    given out again only next round, once nobody runs it any more.
        let mut revoked: BTreeMap<&str, BTreeSet<Work>> = BTreeMap::new();
        let mut kept: BTreeMap<&str, BTreeSet<&Work>> = BTreeMap::new();
        for (id, items) in &running {
            let (keep, stop): (BTreeSet<&Work>, BTreeSet<&Work>) = items.iter().partition(|w| configured.contains(*w) && holders.get(*w) == Some(&1));
            revoked.insert(id, stop.into_iter().cloned().collect());
            kept.insert(id, keep);
        }

        // 2. Lost: still configured, run by nobody, and last given to a member that is gone
        //    (or already being held for one).
        let lost: BTreeSet<Work> = self
            .previous
            .iter()
            .filter(|(id, _)| !running.contains_key(id.as_str()))
            .flat_map(|(_, items)| items)
            .chain(&self.held)
            .filter(|w| configured.contains(*w) && !holders.contains_key(*w))
            .cloned()
            .collect();
        // Everything else configured that nobody runs is new, and placed this round.
        let mut new: Vec<Work> = configured.iter().filter(|w| !holders.contains_key(*w) && !lost.contains(*w)).cloned().collect();

        // 3. The delay: hold lost items until the deadline, then give them to candidates.
        let mut for_candidates = BTreeSet::new();
        let mut candidates: BTreeSet<&str> = BTreeSet::new();
        self.held.clear();
        if lost.is_empty() || self.max_delay.is_zero() {
            new.extend(lost);
            self.reset_delay();
        } else {
            self.candidates.extend(running.iter().filter(|(_, items)| items.is_empty()).map(|(id, _)| id.to_string()));
            match self.deadline {
                Some(deadline) if now >= deadline => {
                    candidates = running.keys().copied().filter(|id| self.candidates.contains(*id)).collect();
                    if candidates.is_empty() {
                        new.extend(lost);
                    } else {
                        for_candidates = lost;
                    }
                    self.reset_delay();
                }
                Some(_) => self.held = lost,
                None => match now.checked_add(self.max_delay) {
                    Some(deadline) => {
                        self.deadline = Some(deadline);
                        self.held = lost;
                    }
                    // A clock that cannot represent the deadline: reassign at once rather than
                    // hold with no end.
                    None => {
                        new.extend(lost);
                        self.reset_delay();
                    }
                },
            }
        }
        // A pending deadline is in the future, so this is at least 1 ms.
        let delay_ms = self.deadline.map_or(0, |d| ceil_millis(d.saturating_duration_since(now)));

        // 4. Load-balancing revocations, only while no delay is pending (held work would skew
        //    the counts, and more may be on its way back). Revoked items are not given out this
        //    round: their holders must stop them first, and rejoin without them.
        if self.deadline.is_none() {
            let of_kind = |connectors: bool| -> BTreeMap<&str, Vec<&Work>> {
                kept.iter().map(|(id, items)| (*id, items.iter().copied().filter(|w| w.is_connector() == connectors).collect())).collect()
            };
            let total_connectors = snapshot.connectors.len();
            let total_tasks = configured.len() - total_connectors;
            for (id, items) in balance_revocations(total_connectors, &of_kind(true)).into_iter().chain(balance_revocations(total_tasks, &of_kind(false))) {
                for item in items {
                    if let Some(k) = kept.get_mut(id) {
                        k.remove(&item);
                    }
                    revoked.entry(id).or_default().insert(item);
                }
            }
        }

        // 5. Placement: lost items over the candidates, then new items over everyone.
        let mut loads: BTreeMap<&str, Load> = BTreeMap::new();
        for (id, items) in &kept {
            let load = loads.entry(id).or_default();
            items.iter().for_each(|w| load.add(w));
        }
        let mut assigned: BTreeMap<&str, BTreeSet<Work>> = BTreeMap::new();
        place(for_candidates, &candidates, &mut loads, &mut assigned);
        let everyone: BTreeSet<&str> = running.keys().copied().collect();
        place(new, &everyone, &mut loads, &mut assigned);

        // 6. Remember what each member will run once it has applied this round.
        self.previous = running
            .keys()
            .map(|id| {
                let mut full: BTreeSet<Work> = kept.get(id).into_iter().flatten().map(|w| (*w).clone()).collect();
                full.extend(assigned.get(id).into_iter().flatten().cloned());
                (id.to_string(), full)
            })
            .collect();

        let url = leader_url(leader_id, members);
        let empty = BTreeSet::new();
        running
            .keys()
            .map(|id| {
                let assignment = Assignment {
                    version,
                    error: NO_ERROR,
                    leader: leader_id.to_string(),
                    leader_url: url.clone(),
                    config_offset: snapshot.config_offset,
                    assigned: Some(from_work(assigned.get(id).unwrap_or(&empty))),
                    revoked: Some(from_work(revoked.get(id).unwrap_or(&empty))),
                    delay_ms,
                };
                (id.to_string(), assignment)
            })
            .collect()
    }

    fn reset_delay(&mut self) {
        self.deadline = None;
        self.candidates.clear();
    }
}

#[cfg(test)]
#[path = "assignor_tests.rs"]
mod tests;
