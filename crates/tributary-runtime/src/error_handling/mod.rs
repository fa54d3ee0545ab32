//! Error handling for records (`RetryWithToleranceOperator`, `LogReporter`,
//! `DeadLetterQueueReporter`): retries with backoff for retriable errors, then tolerance
//! (`errors.tolerance`), logging and the dead letter queue with Kafka's context headers.
//!
//! Deliberate differences from Kafka, for no data loss: a record is only skipped once its dead
//! letter queue write is acknowledged (a failed DLQ write fails the task instead of being logged
//! and forgotten), and with `errors.tolerance=none` a retriable error that outlives
//! `errors.retry.timeout` fails the task (Kafka drops the record).

use crate::connector_config::{
    DLQ_CONTEXT_HEADERS, DLQ_REPLICATION_FACTOR, DLQ_TOPIC_NAME, ERRORS_LOG_ENABLE, ERRORS_LOG_INCLUDE_MESSAGES, ERRORS_RETRY_DELAY_MAX_MS,
    ERRORS_RETRY_TIMEOUT, ERRORS_TOLERANCE,
};
use crate::error::RuntimeError;
use crate::worker_config::WorkerConfig;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::{ConfigMap, ConnectError};

mod dead_letter_queue;
mod log_reporter;
mod processing_context;

pub use dead_letter_queue::DeadLetterQueueReporter;
pub use log_reporter::LogReporter;
pub use processing_context::{DeadLetterQueue, RawRecord, Stage};

/// A connector's `errors.*` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorHandling {
    /// `None`: retry forever (`-1`); zero: no retries (the default).
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub tolerate_all: bool,
    pub log_enable: bool,
    pub log_include_messages: bool,
    pub dlq: Option<DeadLetterQueue>,
}

impl ErrorHandling {
    /// Reads a connector configuration through the `errors.*` keys of its `ConfigDef`
    /// ([`crate::connector_config::error_handling_def`]): absent keys take the defaults defined
    /// there, which are Kafka's, and nothing here repeats them. A value that does not parse is
    /// an error naming the key (validation refuses it first).
    pub fn from_config(config: &ConfigMap) -> Result<Self, RuntimeError> {
        let parsed = crate::connector_config::error_handling_def().parse(config).map_err(|e| RuntimeError::Config(e.to_string()))?;
        let missing = |key: &str| RuntimeError::Config(format!("internal error: {key} has no value after parsing"));
        let long = |k: &'static str| parsed.long(k).ok_or_else(|| missing(k));
        let flag = |k: &'static str| parsed.boolean(k).ok_or_else(|| missing(k));
        let retry = long(ERRORS_RETRY_TIMEOUT)?;
        let dlq_topic = parsed.string(DLQ_TOPIC_NAME).map(str::trim).filter(|t| !t.is_empty());
        let dlq = match dlq_topic {
            None => None,
            Some(topic) => Some(DeadLetterQueue {
                topic: topic.to_owned(),
                replication_factor: parsed.short(DLQ_REPLICATION_FACTOR).ok_or_else(|| missing(DLQ_REPLICATION_FACTOR))?,
                context_headers: flag(DLQ_CONTEXT_HEADERS)?,
            }),
        };
        Ok(Self {
            // -1: retry forever.
            retry_timeout: u64::try_from(retry).ok().map(Duration::from_millis),
            retry_delay_max: Duration::from_millis(long(ERRORS_RETRY_DELAY_MAX_MS)?.max(1).unsigned_abs()),
            tolerate_all: parsed.string(ERRORS_TOLERANCE).is_some_and(|v| v.trim().eq_ignore_ascii_case("all")),
            log_enable: flag(ERRORS_LOG_ENABLE)?,
            log_include_messages: flag(ERRORS_LOG_INCLUDE_MESSAGES)?,
            dlq,
        })
    }

    fn retries(&self) -> bool {
        self.retry_timeout != Some(Duration::ZERO)
    }
}

/// Retries, then reports failures (Kafka's `RetryWithToleranceOperator` with its reporters):
/// logs them ([`LogReporter`]), writes them to the dead letter queue
/// ([`DeadLetterQueueReporter`]), and decides whether the task goes on.
pub struct ErrorReporter {
    pub config: ErrorHandling,
    connector: String,
    task_id: u32,
    log: LogReporter,
    dlq: Option<DeadLetterQueueReporter>,
}

impl ErrorReporter {
    /// Creates the DLQ topic (one partition, as Kafka) and its producer when one is configured.
    pub async fn new(worker: &WorkerConfig, connector: &str, task_id: u32, config: ErrorHandling) -> Result<Self, RuntimeError> {
        let dlq = match &config.dlq {
            None => None,
            Some(d) => Some(DeadLetterQueueReporter::new(worker, connector, task_id, d.clone()).await?),
        };
        let log = LogReporter::new(connector, task_id, config.log_enable, config.log_include_messages);
        Ok(Self { config, connector: connector.to_owned(), task_id, log, dlq })
    }

    /// A reporter with no dead letter queue (tests, and connectors without one).
    pub fn without_dlq(connector: &str, task_id: u32, config: ErrorHandling) -> Self {
        let log = LogReporter::new(connector, task_id, config.log_enable, config.log_include_messages);
        Self { config: ErrorHandling { dlq: None, ..config }, connector: connector.to_owned(), task_id, log, dlq: None }
    }

    pub fn has_dlq(&self) -> bool {
        self.dlq.is_some()
    }

    /// Runs `op`, retrying retriable errors with backoff within `errors.retry.timeout`
    /// (`300 ms × 2^n`, a random delay below `errors.retry.delay.max.ms` once past it).
    pub async fn retry<T>(&self, cancel: &CancellationToken, mut op: impl FnMut() -> Result<T, ConnectError>) -> Result<T, ConnectError> {
        let first = op();
        self.retry_failed(first, cancel, op).await
    }

    /// [`ErrorReporter::retry`] for an operation whose first attempt already returned `first`
    /// (the loops try once inline, and come here only when that failed).
    pub async fn retry_failed<T>(
        &self,
        first: Result<T, ConnectError>,
        cancel: &CancellationToken,
        mut op: impl FnMut() -> Result<T, ConnectError>,
    ) -> Result<T, ConnectError> {
        let mut result = first;
        if !self.config.retries() {
            return result;
        }
        let deadline = self.config.retry_timeout.map(|t| tokio::time::Instant::now() + t);
        let mut attempt: u32 = 0;
        while let Err(e) = &result {
            if !e.is_retriable() {
                break;
            }
            let now = tokio::time::Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let mut delay = Duration::from_millis(300).saturating_mul(1u32 << attempt.min(20));
            if delay > self.config.retry_delay_max {
                delay = jitter(self.config.retry_delay_max);
            }
            if let Some(d) = deadline {
                delay = delay.min(d - now);
            }
            tracing::debug!(connector = %self.connector, task = self.task_id, attempt, ?delay, error = %e, "retrying after a retriable error");
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
            result = op();
        }
        result
    }

    /// Handles a failure that retries did not cure: logs it, writes the record to the dead
    /// letter queue, and returns `Ok` when the record may be skipped (`errors.tolerance=all`),
    /// or the error that fails the task.
    pub async fn report(&self, record: &RawRecord, stage: Stage, class: &str, error: ConnectError) -> Result<(), ConnectError> {
        self.log.report(record, stage, class, &error);
        if let Some(dlq) = &self.dlq {
            dlq.report(record, stage, class, &error).await?;
        }
        if self.config.tolerate_all {
            Ok(())
        } else {
            Err(ConnectError::fatal("Tolerance exceeded in error handler").with_source(error))
        }
    }
}

/// A delay in `[0, max)`, from the clock's nanoseconds: enough spread for retries.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let max_ms = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(nanos) % max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// The defaults Kafka documents for the `errors.*` connector keys (Kafka Connect's
    /// configuration reference), held against the ConfigDef and against what the runtime reads.
    #[test]
    fn the_defaults_are_kafkas_documented_ones() {
        let documented = [
            ("errors.retry.timeout", "0"),
            ("errors.retry.delay.max.ms", "60000"),
            ("errors.tolerance", "none"),
            ("errors.log.enable", "false"),
            ("errors.log.include.messages", "false"),
            ("errors.deadletterqueue.topic.name", ""),
            ("errors.deadletterqueue.topic.replication.factor", "3"),
            ("errors.deadletterqueue.context.headers.enable", "false"),
        ];
        let def = crate::connector_config::error_handling_def();
        let mut defined: Vec<(String, Option<String>)> = def.keys().map(|k| (k.name.clone(), k.default_string())).collect();
        defined.sort();
        let mut expected: Vec<(String, Option<String>)> = documented.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))).collect();
        expected.sort();
        assert_eq!(defined, expected);
        let read = ErrorHandling::from_config(&ConfigMap::new()).unwrap();
        let expected = ErrorHandling {
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_secs(60),
            tolerate_all: false,
            log_enable: false,
            log_include_messages: false,
            dlq: None,
        };
        assert_eq!(read, expected);
        let with_dlq = ErrorHandling::from_config(&cfg(&[("errors.deadletterqueue.topic.name", "dlq")])).unwrap();
        assert_eq!(with_dlq.dlq, Some(DeadLetterQueue { topic: "dlq".into(), replication_factor: 3, context_headers: false }));
    }

    #[test]
    fn a_value_that_does_not_parse_is_named() {
        let e = ErrorHandling::from_config(&cfg(&[("errors.retry.timeout", "soon")])).unwrap_err();
        assert!(e.to_string().contains("errors.retry.timeout"), "{e}");
    }

    #[test]
    fn reads_kafkas_keys_and_defaults() {
        let d = ErrorHandling::from_config(&ConfigMap::new()).unwrap();
        assert_eq!(d.retry_timeout, Some(Duration::ZERO));
        assert_eq!(d.retry_delay_max, Duration::from_secs(60));
        assert!(!d.tolerate_all && !d.log_enable && !d.log_include_messages && d.dlq.is_none());
        let c = ErrorHandling::from_config(&cfg(&[
            ("errors.retry.timeout", "-1"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "dlq"),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ]))
        .unwrap();
        assert_eq!(c.retry_timeout, None);
        assert!(c.tolerate_all);
        assert_eq!(c.dlq, Some(DeadLetterQueue { topic: "dlq".into(), replication_factor: 1, context_headers: true }));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retriable_errors_until_the_timeout() {
        let config = ErrorHandling::from_config(&cfg(&[("errors.retry.timeout", "1000"), ("errors.retry.delay.max.ms", "200")])).unwrap();
        let r = ErrorReporter::without_dlq("c", 0, config);
        let cancel = CancellationToken::new();
        let mut calls = 0;
        let ok = r
            .retry(&cancel, || {
                calls += 1;
                if calls < 3 {
                    Err(ConnectError::retriable("busy"))
                } else {
                    Ok(calls)
                }
            })
            .await;
        assert_eq!(ok.expect("cured by retries"), 3);
        let mut calls = 0;
        let started = tokio::time::Instant::now();
        let err = r
            .retry(&cancel, || {
                calls += 1;
                Err::<(), _>(ConnectError::retriable("down"))
            })
            .await;
        assert!(err.is_err());
        assert!(calls > 3, "retried {calls} times");
        assert!(started.elapsed() <= Duration::from_millis(1000), "stopped at the deadline: {:?}", started.elapsed());
        let mut calls = 0;
        let _ = r
            .retry(&cancel, || {
                calls += 1;
                Err::<(), _>(ConnectError::data("bad"))
            })
            .await;
        assert_eq!(calls, 1, "non-retriable errors are not retried");
    }

    #[tokio::test]
    async fn tolerance_decides_whether_the_task_goes_on() {
        let none = ErrorReporter::without_dlq("c", 0, ErrorHandling::from_config(&ConfigMap::new()).unwrap());
        let err = none.report(&RawRecord::default(), Stage::ValueConverter, "x", ConnectError::data("bad")).await.expect_err("none fails");
        assert_eq!(err.message(), "Tolerance exceeded in error handler");
        let all = ErrorReporter::without_dlq("c", 0, ErrorHandling::from_config(&cfg(&[("errors.tolerance", "all"), ("errors.log.enable", "true")])).unwrap());
        all.report(&RawRecord::default(), Stage::ValueConverter, "x", ConnectError::data("bad")).await.expect("all skips");
    }
}
