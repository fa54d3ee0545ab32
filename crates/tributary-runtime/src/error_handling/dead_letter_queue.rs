//! Kafka's `DeadLetterQueueReporter`: a failed record's original bytes to the dead letter queue
//! topic (`errors.deadletterqueue.topic.name`, created with one partition as Kafka does), with
//! the `__connect.errors.*` context headers when `errors.deadletterqueue.context.headers.enable`
//! is set. A write is waited for: the record is skipped only once the queue has it.

use super::processing_context::{DeadLetterQueue, RawRecord, Stage};
use crate::error::RuntimeError;
use crate::worker_config::WorkerConfig;
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;
use tributary_api::ConnectError;

/// Every wait on the dead letter queue is bounded.
const DLQ_SEND_TIMEOUT: Duration = Duration::from_secs(30);

pub struct DeadLetterQueueReporter {
    settings: DeadLetterQueue,
    producer: FutureProducer,
    connector: String,
    task_id: u32,
}

impl DeadLetterQueueReporter {
    /// Creates the topic if it is missing, and the queue's producer (the worker's
    /// `producer.*` settings: `kafka::dlq_producer_config`).
    pub async fn new(worker: &WorkerConfig, connector: &str, task_id: u32, settings: DeadLetterQueue) -> Result<Self, RuntimeError> {
        let admin = crate::kafka::admin_client(worker, &format!("connector-dlq-adminclient-{connector}-{task_id}"))?;
        crate::kafka::ensure_topic(&admin, &settings.topic, 1, i32::from(settings.replication_factor)).await?;
        let config = crate::kafka::dlq_producer_config(worker, connector, task_id)?;
        let producer = config.create().map_err(|e| RuntimeError::kafka(format!("creating the dead letter queue producer of {connector}-{task_id}"), e))?;
        Ok(Self { settings, producer, connector: connector.to_owned(), task_id })
    }

    /// Writes the record and waits for the broker's acknowledgement; an error fails the task,
    /// so a record is never skipped without being in the queue.
    pub async fn report(&self, record: &RawRecord, stage: Stage, class: &str, error: &ConnectError) -> Result<(), ConnectError> {
        let mut context: Vec<(String, Option<String>)> = Vec::new();
        if self.settings.context_headers {
            let h = |k: &str| format!("__connect.errors.{k}");
            context.push((h("topic"), Some(record.topic.clone())));
            if let Some(p) = record.partition {
                context.push((h("partition"), Some(p.to_string())));
            }
            if let Some(o) = record.offset {
                context.push((h("offset"), Some(o.to_string())));
            }
            context.push((h("connector.name"), Some(self.connector.clone())));
            context.push((h("task.id"), Some(self.task_id.to_string())));
            context.push((h("stage"), Some(stage.as_str().to_owned())));
            context.push((h("class.name"), Some(class.to_owned())));
            context.push((h("exception.class.name"), Some(error.kind().java_class().to_owned())));
            context.push((h("exception.message"), Some(error.message().to_owned())));
            context.push((h("exception.stacktrace"), Some(error.trace())));
            for (k, v) in &record.extra_headers {
                context.push((h(k), Some(v.clone())));
            }
        }
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + context.len());
        for (k, v) in &record.headers {
            headers = headers.insert(KafkaHeader { key: k, value: v.as_deref() });
        }
        for (k, v) in &context {
            headers = headers.insert(KafkaHeader { key: k, value: v.as_deref() });
        }
        let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.settings.topic).headers(headers);
        if let Some(k) = &record.key {
            fr = fr.key(k.as_slice());
        }
        if let Some(v) = &record.value {
            fr = fr.payload(v.as_slice());
        }
        if let Some(ts) = record.timestamp {
            fr = fr.timestamp(ts);
        }
        match self.producer.send(fr, rdkafka::util::Timeout::After(DLQ_SEND_TIMEOUT)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(ConnectError::fatal(format!(
                "Could not produce message to dead letter queue. topic={}: {e}; the record that failed ({}) is not skipped, so it is not lost",
                self.settings.topic,
                error.message()
            ))),
        }
    }
}
