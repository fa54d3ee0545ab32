//! Source offsets in the offsets topic (`KafkaOffsetBackingStore`): the same key and value
//! bytes as the standalone file, one record per entry, the latest value of a key winning.

use crate::kafka_log::KafkaBasedLog;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tributary_runtime::error::RuntimeError;
use tributary_runtime::offset_store::OffsetBackingStore;
use tributary_runtime::worker_config::WorkerConfig;

pub struct KafkaOffsetStore {
    log: KafkaBasedLog,
    data: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl KafkaOffsetStore {
    /// Starts reading the topic and returns once everything in it has been read.
    pub async fn start(worker: &WorkerConfig, topic: &str, client_id: &str) -> Result<Self, RuntimeError> {
        let data: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>> = Arc::default();
        let fold = data.clone();
        let log = KafkaBasedLog::start(
            worker,
            topic,
            client_id,
            Box::new(move |m| {
                use rdkafka::Message;
                let Some(key) = m.key() else {
                    tracing::warn!(offset = m.offset(), partition = m.partition(), "offsets topic record without a key; skipped");
                    return;
                };
                let mut d = fold.lock().unwrap_or_else(|p| p.into_inner());
                match m.payload() {
                    Some(v) => d.insert(key.to_vec(), v.to_vec()),
                    None => d.remove(key),
                };
            }),
        )
        .await?;
        log.read_to_end(Duration::from_secs(60)).await?;
        Ok(Self { log, data })
    }

    /// Catches up with what other workers wrote (before tasks that moved here start).
    pub async fn read_to_end(&self) -> Result<(), RuntimeError> {
        self.log.read_to_end(Duration::from_secs(30)).await
    }

    pub fn stop(&self) {
        self.log.stop();
    }
}

#[async_trait]
impl OffsetBackingStore for KafkaOffsetStore {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RuntimeError> {
        Ok(self.data.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned())
    }

    /// Returns once the broker acknowledged every entry; the local view is updated at once so
    /// that a task restarted on this worker reads what it just committed.
    async fn set(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RuntimeError> {
        let sends = entries.iter().map(|(k, v)| self.log.send(k, v.as_deref()));
        for result in futures_util::future::join_all(sends).await {
            result?;
        }
        let mut d = self.data.lock().unwrap_or_else(|p| p.into_inner());
        for (k, v) in entries {
            match v {
                Some(v) => d.insert(k, v),
                None => d.remove(&k),
            };
        }
        Ok(())
    }

    async fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>, RuntimeError> {
        // Other workers may have written since: read what they wrote first.
        self.log.read_to_end(Duration::from_secs(30)).await?;
        Ok(self.data.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}
