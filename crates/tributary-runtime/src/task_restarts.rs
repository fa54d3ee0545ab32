//! Beyond Kafka: failed tasks are restarted automatically, with backoff. In Kafka Connect a
//! FAILED task stays failed until someone calls the restart endpoint.
//!
//! The policy comes from the connector's config; the supervisor (in the herder) watches task
//! statuses and restarts through the same path as `POST .../tasks/{id}/restart`.

use crate::error::RuntimeError;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap};

pub const RESTART_ENABLE: &str = "task.restart.auto.enable";
pub const RESTART_BACKOFF_INITIAL_MS: &str = "task.restart.backoff.initial.ms";
pub const RESTART_BACKOFF_MAX_MS: &str = "task.restart.backoff.max.ms";
pub const RESTART_MAX_ATTEMPTS: &str = "task.restart.max.attempts";

const GROUP: &str = "Task Restarts";

/// The keys, part of every connector's framework definition.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(RESTART_ENABLE, ConfigType::Boolean, Importance::Medium, "Restart FAILED tasks automatically (Tributary; Kafka never does).")
                .default_value("true")
                .group(GROUP, 1),
        )
        .define(
            ConfigKey::new(
                RESTART_BACKOFF_INITIAL_MS,
                ConfigType::Long,
                Importance::Low,
                "Delay before the second automatic restart; the first is immediate, later ones double up to the maximum.",
            )
            .default_value("1000")
            .validator(Validator::at_least(0.0))
            .group(GROUP, 2),
        )
        .define(
            ConfigKey::new(RESTART_BACKOFF_MAX_MS, ConfigType::Long, Importance::Low, "Longest delay between automatic restarts.")
                .default_value("60000")
                .validator(Validator::at_least(0.0))
                .group(GROUP, 3),
        )
        .define(
            ConfigKey::new(
                RESTART_MAX_ATTEMPTS,
                ConfigType::Int,
                Importance::Low,
                "Automatic restarts of a task before it is left FAILED; -1: no limit. The count resets once the task has run for the maximum backoff.",
            )
            .default_value("-1")
            .validator(Validator::at_least(-1.0))
            .group(GROUP, 4),
        )
}

/// A connector's restart policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPolicy {
    pub enabled: bool,
    pub initial: Duration,
    pub max: Duration,
    pub max_attempts: Option<u32>,
}

impl RestartPolicy {
    /// Reads a connector configuration through [`config_def`]: absent keys take the defaults
    /// defined there, and nothing here repeats them. A value that does not parse is an error
    /// naming the key (validation refuses it first).
    pub fn from_config(config: &ConfigMap) -> Result<Self, RuntimeError> {
        let parsed = config_def().parse(config).map_err(|e| RuntimeError::Config(e.to_string()))?;
        let missing = |key: &str| RuntimeError::Config(format!("internal error: {key} has no value after parsing"));
        let ms = |k: &'static str| parsed.long(k).map(|v| Duration::from_millis(v.max(0).unsigned_abs())).ok_or_else(|| missing(k));
        let max_attempts = parsed.int(RESTART_MAX_ATTEMPTS).ok_or_else(|| missing(RESTART_MAX_ATTEMPTS))?;
        Ok(Self {
            enabled: parsed.boolean(RESTART_ENABLE).ok_or_else(|| missing(RESTART_ENABLE))?,
            initial: ms(RESTART_BACKOFF_INITIAL_MS)?,
            max: ms(RESTART_BACKOFF_MAX_MS)?,
            // -1: no limit.
            max_attempts: u32::try_from(max_attempts).ok(),
        })
    }

    /// The wait before restart number `attempt` (0-based): none, then `initial`, doubling to `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        match attempt {
            0 => Duration::ZERO,
            n => self.initial.saturating_mul(1u32 << (n - 1).min(20)).min(self.max),
        }
    }
}

#[derive(Debug, Default)]
struct TaskRecord {
    attempts: u32,
    /// When the current failure was first seen.
    failed_since: Option<Instant>,
    /// When the task was last seen running after a restart.
    running_since: Option<Instant>,
    given_up: bool,
}

/// What the supervisor should do with a task now.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Wait,
    Restart { attempt: u32 },
    GiveUp { attempts: u32 },
}

/// Per-task restart bookkeeping, fed with the statuses the supervisor observes.
#[derive(Debug, Default)]
pub struct RestartTracker {
    tasks: HashMap<(String, u32), TaskRecord>,
}

impl RestartTracker {
    /// A task was seen FAILED at `now`.
    pub fn failed(&mut self, connector: &str, task: u32, policy: &RestartPolicy, now: Instant) -> Decision {
        let r = self.tasks.entry((connector.to_owned(), task)).or_default();
        r.running_since = None;
        if r.given_up {
            return Decision::Wait;
        }
        let since = *r.failed_since.get_or_insert(now);
        if policy.max_attempts.is_some_and(|max| r.attempts >= max) {
            r.given_up = true;
            return Decision::GiveUp { attempts: r.attempts };
        }
        if now.duration_since(since) < policy.delay(r.attempts) {
            return Decision::Wait;
        }
        r.attempts += 1;
        r.failed_since = None;
        Decision::Restart { attempt: r.attempts }
    }

    /// A task was seen in any other state: once it has run for the maximum backoff, its
    /// failures count from zero again.
    pub fn not_failed(&mut self, connector: &str, task: u32, policy: &RestartPolicy, now: Instant) {
        if let Some(r) = self.tasks.get_mut(&(connector.to_owned(), task)) {
            r.failed_since = None;
            r.given_up = false;
            let since = *r.running_since.get_or_insert(now);
            if now.duration_since(since) >= policy.max {
                self.tasks.remove(&(connector.to_owned(), task));
            }
        }
    }

    /// Forgets connectors that no longer exist.
    pub fn retain(&mut self, alive: impl Fn(&str) -> bool) {
        self.tasks.retain(|(c, _), _| alive(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> RestartPolicy {
        RestartPolicy::from_config(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()).unwrap()
    }

    #[test]
    fn the_defaults_are_the_config_defs() {
        let defined: Vec<(String, Option<String>)> = config_def().keys().map(|k| (k.name.clone(), k.default_string())).collect();
        let documented = [
            ("task.restart.auto.enable", "true"),
            ("task.restart.backoff.initial.ms", "1000"),
            ("task.restart.backoff.max.ms", "60000"),
            ("task.restart.max.attempts", "-1"),
        ];
        assert_eq!(defined, documented.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))).collect::<Vec<_>>());
        let read = policy(&[]);
        assert_eq!(read, RestartPolicy { enabled: true, initial: Duration::from_secs(1), max: Duration::from_secs(60), max_attempts: None });
        assert!(RestartPolicy::from_config(&[("task.restart.max.attempts".to_owned(), "many".to_owned())].into())
            .unwrap_err()
            .to_string()
            .contains("task.restart.max.attempts"));
    }

    #[test]
    fn first_restart_is_immediate_then_backoff_doubles_to_the_cap() {
        let p = policy(&[("task.restart.backoff.initial.ms", "100"), ("task.restart.backoff.max.ms", "350")]);
        let delays: Vec<u64> = (0..5).map(|a| p.delay(a).as_millis() as u64).collect();
        assert_eq!(delays, [0, 100, 200, 350, 350]);
        assert!(p.enabled);
        assert_eq!(p.max_attempts, None);
        assert!(!policy(&[("task.restart.auto.enable", "false")]).enabled);
    }

    #[test]
    fn tracker_waits_restarts_and_gives_up() {
        let p = policy(&[("task.restart.backoff.initial.ms", "100"), ("task.restart.max.attempts", "2")]);
        let mut t = RestartTracker::default();
        let t0 = Instant::now();
        assert_eq!(t.failed("c", 0, &p, t0), Decision::Restart { attempt: 1 });
        assert_eq!(t.failed("c", 0, &p, t0 + Duration::from_millis(10)), Decision::Wait, "the second restart waits 100 ms");
        assert_eq!(t.failed("c", 0, &p, t0 + Duration::from_millis(120)), Decision::Restart { attempt: 2 });
        assert_eq!(t.failed("c", 0, &p, t0 + Duration::from_secs(10)), Decision::GiveUp { attempts: 2 });
        assert_eq!(t.failed("c", 0, &p, t0 + Duration::from_secs(20)), Decision::Wait, "given up stays given up");
        // Another task has its own count.
        assert_eq!(t.failed("c", 1, &p, t0), Decision::Restart { attempt: 1 });
    }

    #[test]
    fn a_task_that_runs_long_enough_starts_counting_again() {
        let p = policy(&[("task.restart.backoff.initial.ms", "100"), ("task.restart.backoff.max.ms", "1000"), ("task.restart.max.attempts", "1")]);
        let mut t = RestartTracker::default();
        let t0 = Instant::now();
        assert_eq!(t.failed("c", 0, &p, t0), Decision::Restart { attempt: 1 });
        t.not_failed("c", 0, &p, t0 + Duration::from_millis(100));
        t.not_failed("c", 0, &p, t0 + Duration::from_millis(1200));
        assert_eq!(t.failed("c", 0, &p, t0 + Duration::from_millis(1300)), Decision::Restart { attempt: 1 });
    }
}
