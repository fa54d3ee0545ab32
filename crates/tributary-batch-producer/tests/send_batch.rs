//! `send_batch` against a real broker: what is enqueued arrives as sent, what is refused comes
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! back with its opaque. Needs `TRIBUTARY_TEST_BOOTSTRAP` (scripts/test.sh starts Apache Kafka).

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, Producer as _, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, TopicPartitionList};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tributary_batch_producer::{BatchProducer, BatchRecord};

fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP").expect("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka)")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Delivery reports as (opaque, partition, offset), or the opaque with -1s when failed.
#[derive(Default)]
struct Reports(Mutex<Vec<(usize, i32, i64)>>);
impl ClientContext for Reports {}
impl ProducerContext for Reports {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let entry = match result {
            Ok(m) => (opaque, m.partition(), m.offset()),
            Err(_) => (opaque, -1, -1),
        };
        self.0.lock().unwrap().push(entry);
    }
}

async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    let results = admin.create_topics([&NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new()).await.unwrap();
    results.into_iter().for_each(|r| r.map(|_| ()).unwrap());
}

fn producer(extra: &[(&str, &str)]) -> BatchProducer<Reports> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap()).set("partitioner", "murmur2_random").set("linger.ms", "5");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    BatchProducer::new(config.create_with_context::<_, BaseProducer<Reports>>(Reports::default()).unwrap())
}

fn wait_for_reports(p: &BatchProducer<Reports>, n: usize) -> Vec<(usize, i32, i64)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.context().0.lock().unwrap().len() < n && Instant::now() < deadline {
        p.poll(Duration::from_millis(50));
    }
    let mut reports = p.context().0.lock().unwrap().clone();
    reports.sort();
    reports
}

/// (partition, key, value) of every record in `topic`, by partition then offset.
fn read_all(topic: &str, partitions: i32, n: usize) -> Vec<(i32, Option<Vec<u8>>, Option<Vec<u8>>)> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap()).set("group.id", unique("batch-test")).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < n && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            got.push((m.partition(), m.offset(), m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
        }
    }
    got.sort_by_key(|(p, o, _, _)| (*p, *o));
    got.into_iter().map(|(p, _, k, v)| (p, k, v)).collect()
}

/// Java's default partitioner for a key: murmur2 (Kafka's seed), sign bit cleared, modulo.
fn java_partition(key: &[u8], partitions: u32) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ key.len() as u32;
    let chunks = key.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]).wrapping_mul(M);
        k ^= k >> 24;
        h = h.wrapping_mul(M) ^ k.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate().rev() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    ((h & 0x7fff_ffff) % partitions) as i32
}

#[tokio::test]
async fn records_arrive_as_sent_with_their_partitions_keys_and_null_or_empty_values() {
    let topic = unique("batch-send");
    create_topic(&topic, 3).await;
    let mut p = producer(&[]);
    let records = [
        BatchRecord { key: None, payload: Some(&b"a"[..]), partition: Some(2), opaque: 10 },
        BatchRecord { key: Some(&b"k1"[..]), payload: Some(&b"b"[..]), partition: Some(0), opaque: 11 },
        BatchRecord { key: None, payload: None, partition: Some(2), opaque: 12 },
        BatchRecord { key: None, payload: Some(&b""[..]), partition: Some(2), opaque: 13 },
        // Placed by librdkafka's partitioner (murmur2, as Java's).
        BatchRecord { key: Some(&b"orders-7"[..]), payload: Some(&b"c"[..]), partition: None, opaque: 14 },
    ];
    let mut results = Vec::new();
    p.send_batch(&topic, records, &mut results).unwrap();
    assert_eq!(results, vec![Ok(()); 5]);
    let reports = wait_for_reports(&p, 5);
    let opaques: Vec<usize> = reports.iter().map(|r| r.0).collect();
    assert_eq!(opaques, [10, 11, 12, 13, 14]);
    assert!(reports.iter().all(|r| r.2 >= 0), "every record acknowledged: {reports:?}");
    let mut expected = vec![
        (0, Some(b"k1".to_vec()), Some(b"b".to_vec())),
        (2, None, Some(b"a".to_vec())),
        (2, None, None),
        (2, None, Some(Vec::new())),
        (java_partition(b"orders-7", 3), Some(b"orders-7".to_vec()), Some(b"c".to_vec())),
    ];
    // Stable: records of one partition stay in send order.
    expected.sort_by_key(|r| r.0);
    assert_eq!(read_all(&topic, 3, 5), expected);
}

#[tokio::test]
async fn a_refused_record_comes_back_with_its_opaque_and_the_rest_are_sent() {
    let topic = unique("batch-refused");
    create_topic(&topic, 1).await;
    let mut p = producer(&[]);
    // Learn the partition count first, so partition 5 is known not to exist.
    p.client().fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
    let records = [
        BatchRecord { key: None, payload: Some(&b"one"[..]), partition: Some(0), opaque: 1 },
        BatchRecord { key: None, payload: Some(&b"lost"[..]), partition: Some(5), opaque: 2 },
        BatchRecord { key: None, payload: Some(&b"three"[..]), partition: Some(0), opaque: 3 },
    ];
    let mut results = Vec::new();
    p.send_batch(&topic, records, &mut results).unwrap();
    assert_eq!(results, vec![Ok(()), Err((RDKafkaErrorCode::UnknownPartition, 2)), Ok(())]);
    let reports = wait_for_reports(&p, 2);
    assert_eq!(reports.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(read_all(&topic, 1, 2), vec![(0, None, Some(b"one".to_vec())), (0, None, Some(b"three".to_vec()))]);
}

#[tokio::test]
async fn a_full_queue_refuses_every_record_from_the_first_that_did_not_fit() {
    let topic = unique("batch-full");
    create_topic(&topic, 1).await;
    let mut p = producer(&[("queue.buffering.max.messages", "3")]);
    let payloads: Vec<Vec<u8>> = (0..5).map(|i| format!("v{i}").into_bytes()).collect();
    let records = payloads.iter().enumerate().map(|(i, v)| BatchRecord { key: None, payload: Some(&v[..]), partition: Some(0), opaque: i });
    let mut results = Vec::new();
    p.send_batch(&topic, records, &mut results).unwrap();
    assert_eq!(results, vec![Ok(()), Ok(()), Ok(()), Err((RDKafkaErrorCode::QueueFull, 3)), Err((RDKafkaErrorCode::QueueFull, 4))]);
    // Room is made by acknowledgements; the refused records then go, in order.
    wait_for_reports(&p, 3);
    let records = payloads[3..].iter().enumerate().map(|(i, v)| BatchRecord { key: None, payload: Some(&v[..]), partition: Some(0), opaque: 3 + i });
    p.send_batch(&topic, records, &mut results).unwrap();
    assert_eq!(results, vec![Ok(()), Ok(())]);
    assert_eq!(wait_for_reports(&p, 5).iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    let values: Vec<_> = read_all(&topic, 1, 5).into_iter().map(|(_, _, v)| v).collect();
    assert_eq!(values, payloads.into_iter().map(Some).collect::<Vec<_>>());
}

#[test]
fn a_topic_name_with_a_nul_byte_is_refused_before_any_record_is_taken() {
    let mut p = producer(&[]);
    let mut results = vec![Ok(())];
    let records = [BatchRecord { key: None, payload: Some(&b"x"[..]), partition: Some(0), opaque: 1 }];
    let err = p.send_batch("bad\0topic", records, &mut results).unwrap_err();
    assert_eq!(err, rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::InvalidTopic));
    assert!(results.is_empty());
}

#[tokio::test]
async fn handles_for_many_topics_are_kept_bounded_and_each_still_sends() {
    let mut p = producer(&[]);
    let topics: Vec<String> = (0..70).map(|i| unique(&format!("batch-many-{i}"))).collect();
    create_topic(&topics[0], 1).await;
    let mut results = Vec::new();
    // 70 topics: past the bound of 64 handles, the first is released, then made again.
    for (i, t) in topics.iter().chain(std::iter::once(&topics[0])).enumerate() {
        let records = [BatchRecord { key: None, payload: Some(&b"x"[..]), partition: None, opaque: i }];
        p.send_batch(t, records, &mut results).unwrap();
        assert_eq!(results, vec![Ok(())], "topic {t}");
    }
    let first: Vec<_> = read_all(&topics[0], 1, 2);
    assert_eq!(first.len(), 2, "both records of the first topic arrived: {first:?}");
}
