//! The worker-group membership protocol as a sans-IO state machine: Kafka's classic group
//! protocol (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as Kafka's
//! `AbstractCoordinator` runs it, without sockets or clocks, so every transition is testable.
//!
//! The driver ([`super::group_client`]) feeds in decoded responses, transport failures, owner
//! requests and the current time, and carries out the returned [`Action`]s. At most one request
//! is in flight at a time: the broker answers a connection's requests in order anyway, JoinGroup
//! blocks until the rebalance completes, and no heartbeats are due while joining.
//!
//! A member "holds" a generation from the SyncGroup that announced it ([`GroupEvent::Joined`])
//! until [`GroupEvent::Lost`]. Under Connect's cooperative protocols a worker keeps running its
//! assignment during a rebalance, so a rebalance alone ([`GroupEvent::Rebalancing`]) does not
//! end the held generation; only errors saying the membership itself is gone do.
//!
//! The life of a member: FindingCoordinator → Joining → (Assigning, for the leader) → Syncing →
//! Stable (heartbeating) → … → Leaving → Left. How it takes the coordinator's answers:
//!
//! | Answer | To | Reaction |
//! |---|---|---|
//! | MEMBER_ID_REQUIRED | JoinGroup | join again at once with the id handed out |
//! | UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID | JoinGroup, SyncGroup, Heartbeat | `Lost`; forget the member id; join at once |
//! | ILLEGAL_GENERATION | JoinGroup, SyncGroup, Heartbeat | `Lost`; join at once with the same id |
//! | REBALANCE_IN_PROGRESS | JoinGroup, SyncGroup, Heartbeat | `Rebalancing` (once per rebalance); join at once, keeping the generation |
//! | COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, no answer | any | forget the coordinator, look it up after a backoff; a Stable member keeps its generation and heartbeats the new one |
//! | anything else | JoinGroup, SyncGroup, Heartbeat | back off, join again |
//! | no acknowledged heartbeat for the session timeout | (Stable) | `Lost`; join again |
//!
//! Backoff doubles from `retry_backoff` to `retry_backoff_max` and resets on any success.

pub use super::membership_io::{codes, error_name, Action, Coordinator, GroupEvent, JoinResponse, LeaderInput, MembershipConfig, State, SyncResponse};
use std::time::Instant;

/// The generation of a completed (or completing) rebalance.
#[derive(Debug, Clone, PartialEq)]
struct Generation {
    id: i32,
    leader_id: String,
    protocol: String,
}

#[derive(Debug, Clone, PartialEq)]
enum InFlight {
    FindCoordinator,
    Join,
    Sync(Generation),
    Heartbeat,
    Leave,
}

pub struct Membership {
    cfg: MembershipConfig,
    coordinator: Option<Coordinator>,
    in_flight: Option<InFlight>,
    /// Empty until the coordinator hands one out (MEMBER_ID_REQUIRED or a JoinGroup answer).
    member_id: String,
    /// The generation announced with `Joined` and not since lost.
    held: Option<Generation>,
    /// `Rebalancing` was emitted for the rebalance under way.
    rebalance_announced: bool,
    /// A JoinGroup has to be sent, for this reason.
    rejoin: Option<String>,
    /// The leader's rebalance, waiting for the owner's assignment.
    assigning: Option<Generation>,
    /// No request before this (backoff after a failure).
    retry_at: Option<Instant>,
    failures: u32,
    next_heartbeat: Instant,
    /// The last time the coordinator confirmed the membership (heartbeat, join or sync answer).
    last_confirmed: Instant,
    leaving: bool,
    left: bool,
}

impl Membership {
    /// A member that has not joined yet; [`Membership::poll`] starts the join.
    pub fn new(cfg: MembershipConfig, now: Instant) -> Self {
        Membership {
            cfg,
            coordinator: None,
            in_flight: None,
            member_id: String::new(),
            held: None,
            rebalance_announced: false,
            rejoin: Some("initial join".to_string()),
            assigning: None,
            retry_at: None,
            failures: 0,
            next_heartbeat: now,
            last_confirmed: now,
            leaving: false,
            left: false,
        }
    }

    pub fn state(&self) -> State {
        if self.left {
            return State::Left;
        }
        if self.leaving {
            return State::Leaving;
        }
        match self.in_flight {
            Some(InFlight::FindCoordinator) => State::FindingCoordinator,
            Some(InFlight::Join) => State::Joining,
            Some(InFlight::Sync(_)) => State::Syncing,
            Some(InFlight::Heartbeat) => State::Stable,
            Some(InFlight::Leave) => State::Leaving,
            None if self.assigning.is_some() => State::Assigning,
            None if self.held.is_some() && self.rejoin.is_none() && self.coordinator.is_some() => State::Stable,
            None => State::Unjoined,
        }
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation this member holds, if any.
    pub fn generation(&self) -> Option<i32> {
        self.held.as_ref().map(|g| g.id)
    }

    pub fn coordinator(&self) -> Option<&Coordinator> {
        self.coordinator.as_ref()
    }

    pub fn is_left(&self) -> bool {
        self.left
    }

    /// When [`Membership::poll`] has to run next if nothing else happens; `None` while waiting
    /// only for a response or the owner.
    pub fn deadline(&self) -> Option<Instant> {
        if self.left {
            return None;
        }
        let session = self.session_deadline();
        let own = if self.in_flight.is_some() || self.assigning.is_some() {
            None
        } else if let Some(at) = self.retry_at {
            Some(at)
        } else if self.held.is_some() && self.rejoin.is_none() && self.coordinator.is_some() && !self.leaving {
            Some(self.next_heartbeat)
        } else {
            None
        };
        match (own, session) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the timers and sends what is due: call at start, and at [`Membership::deadline`].
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.step(now, &mut out);
        out
    }

    /// The owner asks for a rebalance (new metadata to share, say).
    pub fn rejoin(&mut self, now: Instant, reason: &str) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.leaving && self.rejoin.is_none() {
            self.need_rejoin(reason, &mut out);
        }
        self.step(now, &mut out);
        out
    }

    /// The owner leaves the group: abandon whatever is under way and send LeaveGroup once the
    /// coordinator is known (the member is `Left` at once if the coordinator never named it).
    pub fn leave(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.leaving || self.left {
            return out;
        }
        self.leaving = true;
        self.rejoin = None;
        self.assigning = None;
        self.retry_at = None;
        // A pending JoinGroup would hold LeaveGroup behind it on the same connection.
        if matches!(self.in_flight, Some(InFlight::Join | InFlight::Sync(_) | InFlight::Heartbeat)) {
            self.in_flight = None;
            out.push(Action::Disconnect);
        }
        self.step(now, &mut out);
        out
    }

    pub fn on_coordinator(&mut self, now: Instant, found: Result<Coordinator, i16>) -> Vec<Action> {
        let mut out = Vec::new();
        self.expect(InFlight::FindCoordinator);
        match found {
            Ok(coordinator) => {
                tracing::debug!(?coordinator, "group coordinator found");
                self.coordinator = Some(coordinator);
                self.failures = 0;
            }
            Err(code) => {
                tracing::debug!(error = %error_name(code), "FindCoordinator failed");
                if self.leaving {
                    self.left = true;
                } else {
                    self.back_off(now);
                }
            }
        }
        self.step(now, &mut out);
        out
    }

    pub fn on_join(&mut self, now: Instant, resp: JoinResponse) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.expect(InFlight::Join) {
            return out;
        }
        let why = || format!("JoinGroup: {}", error_name(resp.error_code));
        if resp.error_code == codes::NONE {
            self.member_id = resp.member_id.clone();
        }
        match resp.error_code {
            codes::NONE => match resp.protocol {
                Some(protocol) => {
                    self.failures = 0;
                    self.last_confirmed = now;
                    let generation = Generation { id: resp.generation, leader_id: resp.leader_id, protocol };
                    if generation.leader_id == self.member_id {
                        out.push(Action::Assign(LeaderInput {
                            generation: generation.id,
                            protocol: generation.protocol.clone(),
                            leader_id: generation.leader_id.clone(),
                            members: resp.members,
                        }));
                        self.assigning = Some(generation);
                    } else {
                        self.send_sync(generation, Vec::new(), &mut out);
                    }
                }
                None => {
                    tracing::warn!("JoinGroup succeeded without naming a protocol; rejoining");
                    self.need_rejoin("JoinGroup named no protocol", &mut out);
                    self.back_off(now);
                }
            },
            // The coordinator hands out the id first (KIP-394) and waits for a join that uses it.
            codes::MEMBER_ID_REQUIRED => {
                self.member_id = resp.member_id;
                self.need_rejoin("member id assigned", &mut out);
            }
            codes::UNKNOWN_MEMBER_ID | codes::FENCED_INSTANCE_ID => {
                self.lose(why(), &mut out);
                self.member_id.clear();
                self.need_rejoin(&why(), &mut out);
            }
            codes::ILLEGAL_GENERATION => {
                self.lose(why(), &mut out);
                self.need_rejoin(&why(), &mut out);
            }
            codes::REBALANCE_IN_PROGRESS => self.need_rejoin(&why(), &mut out),
            code => self.retry_elsewhere_or_later(now, code, &why(), &mut out),
        }
        self.step(now, &mut out);
        out
    }

    /// The owner's assignment, after [`Action::Assign`].
    pub fn on_assignment(&mut self, now: Instant, assignments: Vec<(String, Vec<u8>)>) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(generation) = self.assigning.take() {
            self.send_sync(generation, assignments, &mut out);
        }
        self.step(now, &mut out);
        out
    }

    pub fn on_sync(&mut self, now: Instant, resp: SyncResponse) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(InFlight::Sync(generation)) = self.in_flight.take() else {
            tracing::debug!("SyncGroup response nobody waits for; ignored");
            return out;
        };
        let why = || format!("SyncGroup: {}", error_name(resp.error_code));
        match resp.error_code {
            codes::NONE if resp.protocol.as_ref().is_some_and(|p| *p != generation.protocol) => {
                tracing::warn!(joined = %generation.protocol, synced = ?resp.protocol, "SyncGroup names another protocol than JoinGroup; rejoining");
                self.need_rejoin("inconsistent protocol", &mut out);
                self.back_off(now);
            }
            codes::NONE => {
                self.failures = 0;
                self.last_confirmed = now;
                self.next_heartbeat = now + self.cfg.heartbeat_interval;
                self.rebalance_announced = false;
                out.push(Action::Emit(GroupEvent::Joined {
                    generation: generation.id,
                    member_id: self.member_id.clone(),
                    leader_id: generation.leader_id.clone(),
                    protocol: generation.protocol.clone(),
                    assignment: resp.assignment,
                }));
                self.held = Some(generation);
                // The owner asked for another round while this one was under way.
                if self.rejoin.is_some() {
                    self.rebalance_announced = true;
                    out.push(Action::Emit(GroupEvent::Rebalancing));
                }
            }
            // Another member joined between our JoinGroup and SyncGroup: join the new round.
            codes::REBALANCE_IN_PROGRESS => self.need_rejoin(&why(), &mut out),
            codes::UNKNOWN_MEMBER_ID | codes::FENCED_INSTANCE_ID => {
                self.lose(why(), &mut out);
                self.member_id.clear();
                self.need_rejoin(&why(), &mut out);
            }
            codes::ILLEGAL_GENERATION => {
                self.lose(why(), &mut out);
                self.need_rejoin(&why(), &mut out);
            }
            code => self.retry_elsewhere_or_later(now, code, &why(), &mut out),
        }
        self.step(now, &mut out);
        out
    }

    pub fn on_heartbeat(&mut self, now: Instant, error_code: i16) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.expect(InFlight::Heartbeat) {
            return out;
        }
        let why = || format!("Heartbeat: {}", error_name(error_code));
        match error_code {
            codes::NONE => {
                self.failures = 0;
                self.last_confirmed = now;
            }
            codes::REBALANCE_IN_PROGRESS => self.need_rejoin(&why(), &mut out),
            codes::UNKNOWN_MEMBER_ID | codes::FENCED_INSTANCE_ID => {
                self.lose(why(), &mut out);
                self.member_id.clear();
                self.need_rejoin(&why(), &mut out);
            }
            codes::ILLEGAL_GENERATION => {
                self.lose(why(), &mut out);
                self.need_rejoin(&why(), &mut out);
            }
            // The membership may well be intact: keep it and heartbeat the new coordinator.
            codes::COORDINATOR_LOAD_IN_PROGRESS | codes::COORDINATOR_NOT_AVAILABLE | codes::NOT_COORDINATOR => {
                self.coordinator_gone(now, &mut out);
            }
            code => {
                tracing::warn!(error = %error_name(code), "unexpected Heartbeat error; rejoining");
                self.need_rejoin(&why(), &mut out);
                self.back_off(now);
            }
        }
        self.step(now, &mut out);
        out
    }

    pub fn on_leave(&mut self, _now: Instant, error_code: i16) -> Vec<Action> {
        if error_code != codes::NONE {
            tracing::debug!(error = %error_name(error_code), "LeaveGroup failed; leaving anyway");
        }
        self.in_flight = None;
        self.left = true;
        Vec::new()
    }

    /// The request in flight failed without an answer (connection lost, timed out, garbled).
    pub fn on_request_failed(&mut self, now: Instant, error: &str) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(in_flight) = self.in_flight.take() else {
            return out;
        };
        tracing::debug!(?in_flight, error, "group request failed");
        if self.leaving {
            // A failed lookup or LeaveGroup ends the leave: the session timeout covers the rest.
            if matches!(in_flight, InFlight::FindCoordinator | InFlight::Leave) {
                self.left = true;
            }
            self.step(now, &mut out);
            return out;
        }
        match in_flight {
            InFlight::FindCoordinator => self.back_off(now),
            InFlight::Join | InFlight::Sync(_) => {
                self.need_rejoin(&format!("request failed: {error}"), &mut out);
                self.coordinator_gone(now, &mut out);
            }
            InFlight::Heartbeat => self.coordinator_gone(now, &mut out),
            InFlight::Leave => self.left = true,
        }
        self.step(now, &mut out);
        out
    }

    /// Clears `in_flight` if it is `what`; false for a response nobody waits for.
    fn expect(&mut self, what: InFlight) -> bool {
        if self.in_flight.as_ref() == Some(&what) {
            self.in_flight = None;
            true
        } else {
            tracing::debug!(?what, in_flight = ?self.in_flight, "response nobody waits for; ignored");
            false
        }
    }

    fn send_sync(&mut self, generation: Generation, assignments: Vec<(String, Vec<u8>)>, out: &mut Vec<Action>) {
        out.push(Action::SyncGroup { generation: generation.id, member_id: self.member_id.clone(), protocol: generation.protocol.clone(), assignments });
        self.in_flight = Some(InFlight::Sync(generation));
    }

    /// Marks that a JoinGroup is due, announcing the rebalance if a generation is held.
    fn need_rejoin(&mut self, reason: &str, out: &mut Vec<Action>) {
        if self.held.is_some() && !self.rebalance_announced {
            self.rebalance_announced = true;
            out.push(Action::Emit(GroupEvent::Rebalancing));
        }
        self.rejoin = Some(reason.to_string());
    }

    /// The held generation is gone: the owner must stop its work.
    fn lose(&mut self, reason: String, out: &mut Vec<Action>) {
        self.rebalance_announced = false;
        if self.held.take().is_some() {
            out.push(Action::Emit(GroupEvent::Lost { reason }));
        }
    }

    fn coordinator_gone(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.coordinator = None;
        // The last heartbeat did not get through: send one as soon as the new coordinator is known.
        self.next_heartbeat = now;
        out.push(Action::Disconnect);
        self.back_off(now);
    }

    /// JoinGroup/SyncGroup failed with something other than a membership error.
    fn retry_elsewhere_or_later(&mut self, now: Instant, code: i16, why: &str, out: &mut Vec<Action>) {
        self.need_rejoin(why, out);
        match code {
            codes::COORDINATOR_LOAD_IN_PROGRESS | codes::COORDINATOR_NOT_AVAILABLE | codes::NOT_COORDINATOR => {
                self.coordinator_gone(now, out);
            }
            _ => {
                tracing::warn!(reason = why, "group join failed; retrying");
                self.back_off(now);
            }
        }
    }

    fn back_off(&mut self, now: Instant) {
        let factor = 1u32 << self.failures.min(16);
        let pause = self.cfg.retry_backoff.saturating_mul(factor).min(self.cfg.retry_backoff_max);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + pause);
    }

    /// When the coordinator must have confirmed the membership again: while a generation is
    /// held and no JoinGroup/SyncGroup (which keep the member alive on the broker) is pending.
    fn session_deadline(&self) -> Option<Instant> {
        let rebalancing = matches!(self.in_flight, Some(InFlight::Join | InFlight::Sync(_))) || self.assigning.is_some();
        (self.held.is_some() && !rebalancing && !self.leaving).then(|| self.last_confirmed + self.cfg.session_timeout)
    }

    fn step(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.left {
            return;
        }
        if self.session_deadline().is_some_and(|d| now >= d) {
            tracing::debug!("no heartbeat acknowledged within the session timeout");
            if matches!(self.in_flight, Some(InFlight::Heartbeat)) {
                self.in_flight = None;
                self.coordinator = None;
                out.push(Action::Disconnect);
            }
            self.lose(format!("no heartbeat acknowledged for {} ms (session timeout)", self.cfg.session_timeout.as_millis()), out);
            self.need_rejoin("session timed out", out);
        }
        if self.in_flight.is_some() || self.assigning.is_some() {
            return;
        }
        if let Some(at) = self.retry_at {
            if now < at {
                return;
            }
            self.retry_at = None;
        }
        if self.leaving {
            if self.member_id.is_empty() {
                self.left = true;
            } else if self.coordinator.is_none() {
                self.in_flight = Some(InFlight::FindCoordinator);
                out.push(Action::FindCoordinator);
            } else {
                self.in_flight = Some(InFlight::Leave);
                out.push(Action::LeaveGroup { member_id: self.member_id.clone() });
            }
            return;
        }
        if self.coordinator.is_none() {
            self.in_flight = Some(InFlight::FindCoordinator);
            out.push(Action::FindCoordinator);
        } else if let Some(reason) = self.rejoin.take() {
            self.in_flight = Some(InFlight::Join);
            out.push(Action::JoinGroup { member_id: self.member_id.clone(), reason });
        } else if let Some(generation) = &self.held {
            if now >= self.next_heartbeat {
                out.push(Action::Heartbeat { generation: generation.id, member_id: self.member_id.clone() });
                self.in_flight = Some(InFlight::Heartbeat);
                self.next_heartbeat = now + self.cfg.heartbeat_interval;
            }
        }
    }
}

#[cfg(test)]
#[path = "membership_tests.rs"]
mod tests;
