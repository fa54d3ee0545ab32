//! How the source loop sends a polled batch through the real broker: runs of plain records go
//! in batch calls, records with a timestamp or headers of their own go alone, topics alternate,
//! and a producer queue far smaller than the batch refuses most records at first. A second batch
//! has only records that go alone. Every record
//! must still arrive once, in order, as the task made it, and be acknowledged to the task with
//! its offset.

mod common;

use async_trait::async_trait;
use common::OneTaskSource;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers as _, Message};
use rdkafka::{ClientConfig, Timestamp, TopicPartitionList};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tributary_api::{
    ConfigMap, ConnectorPlugin, ConnectorType, OffsetMap, PluginType, RecordMetadata, Schema, SourceRecord, SourceTask, SourceTaskContext, Value,
};
use tributary_runtime::herder::Herder;

/// Records of the first polled batch (mixed) and of both (the second: all with timestamps).
const FIRST_BATCH: i64 = 60;
const RECORDS: i64 = 80;

/// What `commit_record` was told, in call order: (value, topic, offset).
static COMMITTED: Mutex<Vec<(String, String, i64)>> = Mutex::new(Vec::new());

/// Record `n`: its topic (`a` or `b`), and whether it has a timestamp and headers. The first
/// batch mixes them; the second has a timestamp on every record, so each goes alone.
fn shape(n: i64) -> (bool, Option<i64>, bool) {
    if n >= FIRST_BATCH {
        return (false, Some(1_600_000_000_000 + n), n % 2 == 0);
    }
    let to_b = (n / 7) % 2 == 1;
    let timestamp = (n % 5 == 3).then_some(1_600_000_000_000 + n);
    let headers = n % 11 == 4;
    (to_b, timestamp, headers)
}

#[derive(Default)]
struct MixedTask {
    topic: String,
    polls: usize,
}

#[async_trait]
impl SourceTask for MixedTask {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, context: SourceTaskContext) -> tributary_api::Result<()> {
        self.topic = context.configs().get("topic").cloned().unwrap_or_default();
        Ok(())
    }
    async fn poll(&mut self) -> tributary_api::Result<Vec<SourceRecord>> {
        let range = match self.polls {
            0 => 0..FIRST_BATCH,
            1 => FIRST_BATCH..RECORDS,
            _ => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Ok(Vec::new());
            }
        };
        self.polls += 1;
        let partition = OffsetMap::single("source", Value::String("mixed".into()));
        Ok(range
            .map(|n| {
                let (to_b, timestamp, headers) = shape(n);
                let topic = format!("{}-{}", self.topic, if to_b { "b" } else { "a" });
                let mut r = SourceRecord::new(
                    partition.clone(),
                    Some(OffsetMap::single("n", Value::Int64(n))),
                    topic,
                    Some(Schema::string()),
                    Value::String(format!("r{n}")),
                );
                r.timestamp = timestamp;
                if headers {
                    r.headers.add("h", Some(Schema::string()), Value::String(format!("h{n}")));
                }
                r
            })
            .collect())
    }
    fn commit_record(&mut self, record: &SourceRecord, metadata: Option<&RecordMetadata<'_>>) -> tributary_api::Result<()> {
        let (topic, offset) = metadata.map_or((String::new(), -1), |m| (m.topic.to_owned(), m.offset));
        COMMITTED.lock().unwrap_or_else(|p| p.into_inner()).push((record.value.to_string(), topic, offset));
        Ok(())
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

/// (value, timestamp, header value) of every record in `topic` (one partition), in order.
fn read_topic(topic: &str, n: usize) -> Vec<(String, Option<i64>, Option<String>)> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", common::bootstrap()).set("group.id", format!("{topic}-reader")).create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning).expect("partition");
    consumer.assign(&tpl).expect("assign");
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < n && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            let timestamp = match m.timestamp() {
                Timestamp::CreateTime(t) => Some(t),
                _ => None,
            };
            let header = m.headers().and_then(|hs| hs.iter().find(|h| h.key == "h").and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned())));
            got.push((value, timestamp, header));
        }
    }
    // Nothing more arrives.
    if consumer.poll(Duration::from_millis(500)).is_some() {
        got.push(("unexpected".into(), None, None));
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_batch_arrives_in_order_through_a_tiny_producer_queue() {
    let plugin =
        ConnectorPlugin::new("com.example.MixedConnector", "test", PluginType::Source, || ConnectorType::Source(Box::<OneTaskSource<MixedTask>>::default()));
    // Five records fit in the producer's queue: most sends are refused at first.
    let (h, _dir) = common::standalone(plugin, &[("producer.queue.buffering.max.messages", "5")]);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let topic = format!("mixed-{}-{nanos}", std::process::id());
    let started_ms = nanos as i64;
    let config: ConfigMap = [
        ("connector.class", "com.example.MixedConnector"),
        ("topic", topic.as_str()),
        ("topic.creation.default.partitions", "1"),
        ("topic.creation.default.replication.factor", "1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    h.put_connector_config("mixed", config, false, None).await.expect("connector created");
    let deadline = Instant::now() + Duration::from_secs(60);
    while COMMITTED.lock().unwrap_or_else(|p| p.into_inner()).len() < RECORDS as usize {
        assert!(Instant::now() < deadline, "only {} records acknowledged", COMMITTED.lock().unwrap_or_else(|p| p.into_inner()).len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.stop().await;

    // Expected, per topic, in send order; the offsets each record was acknowledged with.
    let (mut a, mut b, mut committed) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..RECORDS {
        let (to_b, timestamp, headers) = shape(n);
        let side = if to_b { &mut b } else { &mut a };
        committed.push((format!("r{n}"), format!("{topic}-{}", if to_b { "b" } else { "a" }), side.len() as i64));
        side.push((format!("r{n}"), timestamp, headers.then(|| format!("h{n}"))));
    }
    for (name, expected) in [("a", a), ("b", b)] {
        let got = read_topic(&format!("{topic}-{name}"), expected.len());
        assert_eq!(got.len(), expected.len(), "topic {name}: {got:?}");
        // Records without a timestamp of their own are stamped by the producer when sent.
        let got: Vec<_> = got
            .into_iter()
            .zip(&expected)
            .map(|((v, t, hd), (_, want_t, _))| match (want_t, t) {
                (None, Some(t)) if t >= started_ms && t <= started_ms + 120_000 => (v, None, hd),
                _ => (v, t, hd),
            })
            .collect();
        assert_eq!(got, expected, "topic {name}");
    }
    assert_eq!(*COMMITTED.lock().unwrap_or_else(|p| p.into_inner()), committed);
}
