//! Differential tests: the same file, connector and transform chain run by Apache Kafka Connect
//! itself (3.9.1, from Maven Central via `scripts/kafka.sh fetch-connect`) and by Tributary,
//! against the same broker; the records each one writes must be byte-identical (keys, values,
//! headers, topic names; timestamps aside).

mod common;

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, TopicPartitionList};
use std::time::{Duration, Instant};

/// A record as bytes: (key, value, headers).
type Raw = (Option<Vec<u8>>, Option<Vec<u8>>, Vec<(String, Option<Vec<u8>>)>);

fn read_raw(bootstrap: &str, topic: &str, expected: usize) -> Vec<Raw> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", unique("diff")).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()).unwrap_or_default();
            out.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec), headers));
        }
    }
    out
}

/// Runs `connector` (a properties template where `@TOPIC@`, `@FILE@` and `@NAME@` are filled in)
/// under both workers and compares what lands in `@TOPIC@-routed`.
fn differential(chain_name: &str, converters: &str, connector: &str, lines: usize) {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    write_lines(&input, lines);
    let mut topics = Vec::new();
    let mut results = Vec::new();
    for engine in ["java", "tributary"] {
        let topic = unique(&format!("diff-{chain_name}-{engine}"));
        let name = unique(&format!("diff-{engine}"));
        let props = connector.replace("@TOPIC@", &topic).replace("@FILE@", &input.display().to_string()).replace("@NAME@", &name);
        let cpath = dir.path().join(format!("{engine}-connector.properties"));
        std::fs::write(&cpath, props).unwrap();
        let port = free_port();
        let offsets = dir.path().join(format!("{engine}.offsets"));
        let worker = format!(
            "bootstrap.servers={bootstrap}\n{converters}offset.storage.file.filename={}\noffset.flush.interval.ms=1000\nlisteners=http://127.0.0.1:{port}\n",
            offsets.display()
        );
        let routed = format!("{topic}-routed");
        if engine == "java" {
            let _java = start_java_connect(dir.path(), &worker, &[cpath], port);
            wait_until(Duration::from_secs(60), "Apache Kafka Connect to write every record", || high_watermark(&bootstrap, &routed) >= lines as i64);
        } else {
            let w = WorkerProcess::start(dir.path(), &worker, &[cpath], port);
            wait_until(Duration::from_secs(60), "Tributary to write every record", || high_watermark(&bootstrap, &routed) >= lines as i64);
            assert_eq!(w.terminate(), Some(0));
        }
        results.push(read_raw(&bootstrap, &routed, lines));
        topics.push(routed);
    }
    let (java, ours) = (&results[0], &results[1]);
    eprintln!(
        "{chain_name}: first record from Apache Kafka Connect: {:?}",
        java.first().map(|r| (r.0.as_deref().map(String::from_utf8_lossy), r.1.as_deref().map(String::from_utf8_lossy), &r.2))
    );
    assert_eq!(java.len(), lines, "Apache Kafka Connect wrote {} records to {}", java.len(), topics[0]);
    assert_eq!(ours.len(), lines);
    for (i, (j, t)) in java.iter().zip(ours).enumerate() {
        let show = |b: &Option<Vec<u8>>| b.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
        assert_eq!(show(&t.0), show(&j.0), "record {i}: key differs");
        assert_eq!(show(&t.1), show(&j.1), "record {i}: value differs");
        assert_eq!(t.2, j.2, "record {i}: headers differ");
    }
}

const JSON_WITH_SCHEMAS: &str = "key.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n";
const JSON_SCHEMALESS: &str = "key.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n";

#[test]
fn schemad_chain_matches_apache_kafka_connect_byte_for_byte() {
    differential(
        "schemad",
        JSON_WITH_SCHEMAS,
        "name=@NAME@\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\nfile=@FILE@\ntopic=@TOPIC@\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
         transforms=hoist,origin,rename,mask,meta,key,extract,header,route\n\
         transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.hoist.field=line\n\
         transforms.origin.type=org.apache.kafka.connect.transforms.InsertField$Value\ntransforms.origin.static.field=origin\ntransforms.origin.static.value=file\ntransforms.origin.partition.field=part\n\
         transforms.rename.type=org.apache.kafka.connect.transforms.ReplaceField$Value\ntransforms.rename.renames=line:text\n\
         transforms.mask.type=org.apache.kafka.connect.transforms.MaskField$Value\ntransforms.mask.fields=origin\ntransforms.mask.replacement=***\ntransforms.mask.predicate=always\n\
         transforms.meta.type=org.apache.kafka.connect.transforms.SetSchemaMetadata$Value\ntransforms.meta.schema.name=com.example.Line\ntransforms.meta.schema.version=2\n\
         transforms.key.type=org.apache.kafka.connect.transforms.ValueToKey\ntransforms.key.fields=text,part\n\
         transforms.extract.type=org.apache.kafka.connect.transforms.ExtractField$Key\ntransforms.extract.field=text\n\
         transforms.header.type=org.apache.kafka.connect.transforms.InsertHeader\ntransforms.header.header=source\ntransforms.header.value.literal=42\n\
         transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\ntransforms.route.regex=(.*)\ntransforms.route.replacement=$1-routed\n\
         predicates=always\npredicates.always.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\npredicates.always.pattern=diff-.*\n",
        200,
    );
}

#[test]
fn schemaless_chain_matches_apache_kafka_connect_byte_for_byte() {
    differential(
        "schemaless",
        JSON_SCHEMALESS,
        "name=@NAME@\nconnector.class=FileStreamSource\nfile=@FILE@\ntopic=@TOPIC@\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
         transforms=hoist,origin,wrap,tomb,drop,route\n\
         transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.hoist.field=line\n\
         transforms.origin.type=org.apache.kafka.connect.transforms.InsertField$Value\ntransforms.origin.static.field=origin\ntransforms.origin.static.value=file\n\
         transforms.wrap.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.wrap.field=payload\n\
         transforms.tomb.type=org.apache.kafka.connect.transforms.InsertHeader\ntransforms.tomb.header=kept\ntransforms.tomb.value.literal=yes\n\
         transforms.drop.type=org.apache.kafka.connect.transforms.Filter\ntransforms.drop.predicate=isTombstone\n\
         transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\ntransforms.route.regex=(.*)\ntransforms.route.replacement=$1-routed\n\
         predicates=isTombstone\npredicates.isTombstone.type=org.apache.kafka.connect.transforms.predicates.RecordIsTombstone\n",
        200,
    );
}

#[test]
fn nesting_cast_and_header_chain_matches_apache_kafka_connect_byte_for_byte() {
    differential(
        "nested",
        JSON_WITH_SCHEMAS,
        "name=@NAME@\nconnector.class=FileStreamSource\nfile=@FILE@\ntopic=@TOPIC@\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
         transforms=hoist,origin,wrap,flat,cast,header,route\n\
         transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.hoist.field=line\n\
         transforms.origin.type=org.apache.kafka.connect.transforms.InsertField$Value\ntransforms.origin.static.field=origin\ntransforms.origin.static.value=file\ntransforms.origin.partition.field=part\n\
         transforms.wrap.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.wrap.field=inner\n\
         transforms.flat.type=org.apache.kafka.connect.transforms.Flatten$Value\ntransforms.flat.delimiter=_\n\
         transforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value\ntransforms.cast.spec=inner_part:string\n\
         transforms.header.type=org.apache.kafka.connect.transforms.HeaderFrom$Value\ntransforms.header.fields=inner_origin\ntransforms.header.headers=origin\ntransforms.header.operation=move\n\
         transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\ntransforms.route.regex=(.*)\ntransforms.route.replacement=$1-routed\n",
        200,
    );
}

/// Every record of `topic` (all `partitions`) as (key, partition).
fn keys_by_partition(bootstrap: &str, topic: &str, partitions: i32, expected: usize) -> std::collections::BTreeMap<String, i32> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", unique("keys")).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let key = String::from_utf8(m.key().expect("a keyed record").to_vec()).unwrap();
            assert_eq!(out.insert(key, m.partition()), None, "a key was written twice");
        }
    }
    out
}

#[test]
fn keyed_records_land_on_the_partitions_apache_kafka_connect_chooses() {
    // Kafka's producer hashes keys with murmur2; librdkafka's default partitioner is CRC32. A
    // worker that kept librdkafka's default would put a key on another partition than Connect
    // does, and per-key order would break when a connector moves between the two.
    let (bootstrap, lines, partitions) = (bootstrap(), 300, 6);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    write_lines(&input, lines);
    let mut placements = Vec::new();
    for engine in ["java", "tributary"] {
        let topic = unique(&format!("keyed-{engine}"));
        let props = format!(
            "name={}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n\
             topic.creation.default.partitions={partitions}\ntopic.creation.default.replication.factor=1\n\
             transforms=hoist,key,extract\n\
             transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.hoist.field=line\n\
             transforms.key.type=org.apache.kafka.connect.transforms.ValueToKey\ntransforms.key.fields=line\n\
             transforms.extract.type=org.apache.kafka.connect.transforms.ExtractField$Key\ntransforms.extract.field=line\n",
            unique(&format!("keyed-{engine}")),
            input.display()
        );
        let cpath = dir.path().join(format!("{engine}-keyed.properties"));
        std::fs::write(&cpath, props).unwrap();
        let port = free_port();
        let worker = format!(
            "bootstrap.servers={bootstrap}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n{}offset.storage.file.filename={}\n\
             offset.flush.interval.ms=1000\nlisteners=http://127.0.0.1:{port}\n",
            "value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n",
            dir.path().join(format!("{engine}.offsets")).display()
        );
        let placed = if engine == "java" {
            let _java = start_java_connect(dir.path(), &worker, &[cpath], port);
            keys_by_partition(&bootstrap, &topic, partitions, lines)
        } else {
            let w = WorkerProcess::start(dir.path(), &worker, &[cpath], port);
            let placed = keys_by_partition(&bootstrap, &topic, partitions, lines);
            assert_eq!(w.terminate(), Some(0));
            placed
        };
        assert_eq!(placed.len(), lines, "{engine} wrote {} of {lines} keyed records", placed.len());
        placements.push(placed);
    }
    let used: std::collections::BTreeSet<i32> = placements[0].values().copied().collect();
    assert!(used.len() > 1, "the keys all hashed to one partition: the comparison would prove nothing");
    for (key, java_partition) in &placements[0] {
        assert_eq!(placements[1].get(key), Some(java_partition), "key {key:?}: Apache Kafka Connect chose partition {java_partition}");
    }
}
