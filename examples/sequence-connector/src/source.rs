//! The source: a connector that splits the sequence into task configs, and the task that
//! writes its share.

use crate::VERSION;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{
    async_trait, ConfigDef, ConfigMap, ConnectError, Connector, OffsetMap, Result, Schema, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Value,
};

const TOPIC: &str = "topic";
const COUNT: &str = "count";
const BATCH_SIZE: &str = "batch.size";
// Task config keys the connector adds for each task.
const TASK_INDEX: &str = "task.index";
const TASK_COUNT: &str = "task.count";

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new(TOPIC, ConfigType::String, Importance::High, "The topic to write the numbers to"))
        .define(
            ConfigKey::new(COUNT, ConfigType::Long, Importance::High, "How many numbers to write, from 0")
                .default_value("100")
                .validator(Validator::at_least(0.0)),
        )
        .define(
            ConfigKey::new(BATCH_SIZE, ConfigType::Int, Importance::Low, "The most records one poll returns")
                .default_value("50")
                .validator(Validator::at_least(1.0)),
        )
}

/// Validates the config at start (the worker has already checked it against `config_def`) and
/// splits the sequence into task configs.
#[derive(Default)]
pub struct SequenceSourceConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for SequenceSourceConnector {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(&mut self, config: ConfigMap) -> Result<()> {
        config_def().parse(&config).map_err(|e| ConnectError::config(e.to_string()))?;
        self.config = config;
        Ok(())
    }
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<ConfigMap>> {
        let count = config_def().parse(&self.config).map_err(|e| ConnectError::config(e.to_string()))?.long(COUNT).unwrap_or(0);
        // No more tasks than numbers, and at least one.
        let tasks = max_tasks.min(usize::try_from(count).unwrap_or(usize::MAX)).max(1);
        Ok((0..tasks)
            .map(|i| {
                let mut task = self.config.clone();
                task.insert(TASK_INDEX.into(), i.to_string());
                task.insert(TASK_COUNT.into(), tasks.to_string());
                task
            })
            .collect())
    }
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for SequenceSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<SequenceSourceTask>::default()
    }
    fn task_class(&self) -> &'static str {
        "com.example.SequenceSourceTask"
    }
}

/// Writes the numbers `next, next + of, ...` below `count`.
#[derive(Default)]
pub struct SequenceSourceTask {
    topic: String,
    count: i64,
    batch_size: usize,
    /// This task's share: numbers `k` with `k % of == index`.
    index: i64,
    of: i64,
    next: i64,
}

impl SequenceSourceTask {
    fn partition(&self) -> OffsetMap {
        OffsetMap::from([("task".to_owned(), Value::Int64(self.index)), ("of".to_owned(), Value::Int64(self.of))])
    }
}

fn task_number(config: &ConfigMap, key: &str) -> Result<i64> {
    let raw = config.get(key).ok_or_else(|| ConnectError::config(format!("missing task config key {key}")))?;
    raw.parse().map_err(|_| ConnectError::config(format!("task config key {key} is not a number: {raw}")))
}

#[async_trait]
impl SourceTask for SequenceSourceTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let config = context.configs();
        let parsed = config_def().parse(config).map_err(|e| ConnectError::config(e.to_string()))?;
        self.topic = parsed.string(TOPIC).unwrap_or_default().to_owned();
        self.count = parsed.long(COUNT).unwrap_or(0);
        self.batch_size = parsed.int(BATCH_SIZE).and_then(|b| usize::try_from(b).ok()).unwrap_or(50);
        self.index = task_number(config, TASK_INDEX)?;
        self.of = task_number(config, TASK_COUNT)?.max(1);
        // Resume after the last number the broker acknowledged before a restart.
        self.next = match context.offset(&self.partition()).await? {
            Some(offset) => match offset.get("next") {
                Some(Value::Int64(next)) => *next,
                other => return Err(ConnectError::config(format!("unexpected committed offset {other:?}: expected {{\"next\": <number>}}"))),
            },
            None => self.index,
        };
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.next >= self.count {
            // The sequence is written. A task with nothing to do now waits for what will wake
            // it; this one never has more, so it waits for the worker to stop it (the worker
            // drops this future to stop or pause the task, and flushes offsets meanwhile).
            std::future::pending::<()>().await;
        }
        let partition = std::sync::Arc::new(self.partition());
        let mut records = Vec::with_capacity(self.batch_size);
        while self.next < self.count && records.len() < self.batch_size {
            let number = self.next;
            self.next += self.of;
            let offset = OffsetMap::from([("next".to_owned(), Value::Int64(self.next))]);
            records.push(SourceRecord::new(partition.clone(), Some(offset), self.topic.as_str(), Some(Schema::int64()), Value::Int64(number)));
        }
        Ok(records)
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tributary_api::OffsetStorageReader;

    /// An offset reader with one committed offset, or none.
    struct Committed(Option<OffsetMap>);

    #[async_trait]
    impl OffsetStorageReader for Committed {
        async fn offset(&self, _partition: &OffsetMap) -> Result<Option<OffsetMap>> {
            Ok(self.0.clone())
        }
    }

    fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn numbers(records: &[SourceRecord]) -> Vec<i64> {
        records.iter().map(|r| if let Value::Int64(n) = r.value { n } else { -1 }).collect()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        // The tests' futures never wait: one poll finishes them.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn splits_the_sequence_into_at_most_count_tasks() {
        let mut c = SequenceSourceConnector::default();
        block_on(c.start(config(&[("topic", "t"), ("count", "3")]))).unwrap();
        let tasks = block_on(c.task_configs(5)).unwrap();
        assert_eq!(tasks.iter().map(|t| (t[TASK_INDEX].as_str(), t[TASK_COUNT].as_str())).collect::<Vec<_>>(), [("0", "3"), ("1", "3"), ("2", "3")]);
    }

    #[test]
    fn a_task_writes_its_share_in_batches_and_resumes_after_its_offset() {
        let task_config = config(&[("topic", "t"), ("count", "10"), ("batch.size", "2"), (TASK_INDEX, "1"), (TASK_COUNT, "3")]);
        let mut task = SequenceSourceTask::default();
        block_on(task.start(SourceTaskContext::new(task_config.clone(), Arc::new(Committed(None))))).unwrap();
        assert_eq!(numbers(&block_on(task.poll()).unwrap()), [1, 4]);
        let last = block_on(task.poll()).unwrap();
        assert_eq!(numbers(&last), [7]);
        assert_eq!(last[0].meta.source_offset, Some(OffsetMap::from([("next".to_owned(), Value::Int64(10))])));

        let mut restarted = SequenceSourceTask::default();
        let committed = OffsetMap::from([("next".to_owned(), Value::Int64(4))]);
        block_on(restarted.start(SourceTaskContext::new(task_config, Arc::new(Committed(Some(committed)))))).unwrap();
        assert_eq!(numbers(&block_on(restarted.poll()).unwrap()), [4, 7]);
    }

    #[test]
    fn a_foreign_offset_is_refused_with_what_was_expected() {
        let task_config = config(&[("topic", "t"), (TASK_INDEX, "0"), (TASK_COUNT, "1")]);
        let foreign = OffsetMap::from([("position".to_owned(), Value::Int64(4))]);
        let mut task = SequenceSourceTask::default();
        let err = block_on(task.start(SourceTaskContext::new(task_config, Arc::new(Committed(Some(foreign)))))).unwrap_err();
        assert!(err.to_string().contains("expected {\"next\": <number>}"), "{err}");
    }
}
