//! A restart request (`POST /connectors/{name}/restart?includeTasks=&onlyFailed=`), Kafka's
//! `RestartRequest`: which of a connector's instances it restarts, decided here for both
//! herders (the standalone herder restarts at once; the distributed one writes the request to
//! the config topic and each worker applies it to what it runs).

use crate::herder::ConnectorStateInfo;
use crate::status::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartRequest {
    /// Restart the connector's tasks too.
    pub include_tasks: bool,
    /// Restart only instances whose status is FAILED.
    pub only_failed: bool,
}

impl RestartRequest {
    pub fn new(include_tasks: bool, only_failed: bool) -> Self {
        RestartRequest { include_tasks, only_failed }
    }

    /// Whether the connector instance restarts, given its status (`None`: none recorded).
    pub fn restarts_connector(&self, state: Option<State>) -> bool {
        !self.only_failed || state == Some(State::Failed)
    }

    /// Whether a task restarts, given its status.
    pub fn restarts_task(&self, state: Option<State>) -> bool {
        self.include_tasks && (!self.only_failed || state == Some(State::Failed))
    }

    /// Whether the REST answer is the connector's status (202, Kafka's plan) rather than an
    /// empty 204: Kafka answers the old way only for a bare restart.
    pub fn answers_with_status(&self) -> bool {
        self.include_tasks || self.only_failed
    }

    /// Kafka's answer to a request not yet carried out: what will restart shows RESTARTING.
    pub fn plan(&self, status: &mut ConnectorStateInfo) {
        if self.restarts_connector(Some(status.connector.state)) {
            status.connector.state = State::Restarting;
        }
        for t in &mut status.tasks {
            if self.restarts_task(Some(t.state)) {
                t.state = State::Restarting;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failed_limits_both_and_include_tasks_adds_the_tasks() {
        let failed = Some(State::Failed);
        let running = Some(State::Running);
        let bare = RestartRequest::new(false, false);
        assert!(bare.restarts_connector(running) && !bare.restarts_task(failed) && !bare.answers_with_status());
        let all = RestartRequest::new(true, false);
        assert!(all.restarts_connector(running) && all.restarts_task(running) && all.answers_with_status());
        let failed_only = RestartRequest::new(true, true);
        assert!(!failed_only.restarts_connector(running) && failed_only.restarts_connector(failed));
        assert!(!failed_only.restarts_task(running) && failed_only.restarts_task(failed) && !failed_only.restarts_task(None));
        assert!(RestartRequest::new(false, true).answers_with_status());
    }
}
