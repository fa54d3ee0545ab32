//! End to end through a real Apache Kafka broker: FileStreamSource → topic → FileStreamSink.

mod common;

use common::*;
use std::collections::HashMap;
use std::time::Duration;

/// The headers of the first record of partition 0 of `topic`.
fn topic_headers(bootstrap: &str, topic: &str) -> Vec<(String, Vec<u8>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
    use rdkafka::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", unique("hdr")).create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    for _ in 0..100 {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            return m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec())).collect()).unwrap_or_default();
        }
    }
    Vec::new()
}

#[test]
fn hundred_thousand_lines_file_to_topic_to_file_byte_identical() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let data = write_lines(&input, 100_000);
    let topic = unique("pipeline");
    let (source, sink) = (unique("src"), unique("sink"));
    let src_file = dir.path().join("source.properties");
    std::fs::write(&src_file, format!("name={source}\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\n", input.display())).unwrap();
    let sink_file = dir.path().join("sink.json");
    std::fs::write(
        &sink_file,
        format!(r#"{{"name":"{sink}","config":{{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","tasks.max":"1","file":"{}","topics":"{topic}"}}}}"#, output.display()),
    )
    .unwrap();
    let offsets = dir.path().join("connect.offsets");
    let port = free_port();
    let worker = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &offsets, 1000), &[src_file, sink_file], port);

    wait_until(Duration::from_secs(120), "the sink file to hold every line", || {
        std::fs::metadata(&output).map(|m| m.len() as usize >= data.len()).unwrap_or(false)
    });
    // Both connectors are RUNNING and shaped as Kafka Connect reports them.
    let (code, body) = http(port, "GET", &format!("/connectors/{source}/status"), None).unwrap();
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["tasks"][0]["state"], "RUNNING");
    assert_eq!(status["type"], "source");
    assert_eq!(status["tasks"][0]["worker_id"], format!("127.0.0.1:{port}"));
    let (_, tasks) = http(port, "GET", &format!("/connectors/{sink}/tasks"), None).unwrap();
    let tasks: serde_json::Value = serde_json::from_str(&tasks).unwrap();
    assert_eq!(tasks[0]["config"]["task.class"], "org.apache.kafka.connect.file.FileStreamSinkTask");
    assert_eq!(tasks[0]["config"]["topics"], topic.as_str());

    // The sink's group commits every offset once flushed; the source's file offset reaches EOF.
    wait_until(Duration::from_secs(30), "the sink group to commit offset 100000", || {
        committed_offset(&bootstrap, &format!("connect-{sink}"), &topic) == Some(100_000)
    });
    wait_until(Duration::from_secs(30), "the source offset to reach the end of the file", || {
        std::fs::read_to_string(&offsets).map(|t| t.contains(&format!(r#"{{\"position\":{}}}"#, data.len()))).unwrap_or(false)
    });
    assert_eq!(worker.terminate(), Some(0), "SIGTERM exits 0");
    assert_eq!(high_watermark(&bootstrap, &topic), 100_000, "exactly one record per line");
    assert!(std::fs::read(&output).unwrap() == data, "the output file is byte-identical to the input");
}

#[test]
fn sigkill_mid_stream_loses_nothing_and_replays_at_most_one_flush_interval() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    // The test appends to the file while the worker runs, so the kill lands mid-stream however
    // fast the source is: the rest of the lines are written only after the kill.
    let lines = 300_000;
    let line = |i: usize| format!("line {i:08} {}\n", "x".repeat(86));
    let append = |from: usize, to: usize| {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&input).unwrap();
        f.write_all((from..to).map(line).collect::<String>().as_bytes()).unwrap();
    };
    append(0, 20_000);
    let topic = unique("crash");
    let name = unique("crash-src");
    let src_file = dir.path().join("source.properties");
    std::fs::write(&src_file, format!("name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\nbatch.size=100\n", input.display())).unwrap();
    let offsets = dir.path().join("connect.offsets");
    let flush = Duration::from_millis(500);
    let port = free_port();
    let props = worker_props(&bootstrap, port, &offsets, flush.as_millis() as u64);
    let worker = WorkerProcess::start(dir.path(), &props, std::slice::from_ref(&src_file), port);
    let mut written = 20_000;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(std::fs::metadata(&offsets).is_ok() && high_watermark(&bootstrap, &topic) >= 30_000) {
        assert!(std::time::Instant::now() < deadline, "no offset flush and 30000 records within 60 s");
        if written < lines / 2 {
            append(written, written + 5_000);
            written += 5_000;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    worker.kill();
    let before_restart = high_watermark(&bootstrap, &topic);
    append(written, lines);
    assert!((before_restart as usize) < lines, "the kill must land mid-stream (had {before_restart})");

    let port = free_port();
    let props = worker_props(&bootstrap, port, &offsets, flush.as_millis() as u64);
    let worker = WorkerProcess::start(dir.path(), &props, &[src_file], port);
    let expected_lines: Vec<String> = std::fs::read_to_string(&input).unwrap().lines().map(str::to_owned).collect();
    let mut records = Vec::new();
    wait_until(Duration::from_secs(120), "every line in the topic", || {
        records = read_topic(&bootstrap, &topic, 0, Duration::from_secs(20));
        let distinct: std::collections::HashSet<&String> = records.iter().map(|(v, _)| v).collect();
        distinct.len() >= lines
    });
    assert_eq!(worker.terminate(), Some(0));

    // No line lost, nothing foreign.
    let mut seen: HashMap<&str, Vec<i64>> = HashMap::new();
    for (v, ts) in &records {
        seen.entry(v.as_str()).or_default().push(*ts);
    }
    for l in &expected_lines {
        assert!(seen.contains_key(l.as_str()), "line lost: {l}");
    }
    assert_eq!(seen.len(), lines);
    // Duplicates are the replay after the last offset flush before the kill: their first copies
    // were all produced within about one flush interval before the kill.
    let first_run = &records[..before_restart as usize];
    let last_before_kill = first_run.iter().map(|(_, ts)| *ts).max().unwrap();
    let duplicated: Vec<i64> = seen.values().filter(|ts| ts.len() > 1).map(|ts| ts[0]).collect();
    assert!(seen.values().all(|ts| ts.len() <= 2), "a line was sent more than twice");
    let earliest_dup = duplicated.iter().copied().min().unwrap_or(last_before_kill);
    let window = last_before_kill - earliest_dup;
    eprintln!("duplicates: {} of {lines}, produced within {window} ms before the kill (flush interval {} ms)", duplicated.len(), flush.as_millis());
    assert!(
        window <= (flush.as_millis() as i64) * 2 + 250,
        "replayed records span {window} ms, more than one flush interval ({} ms) plus the flush itself",
        flush.as_millis()
    );
}

#[test]
fn transforms_on_both_sides_and_dropped_records_still_commit_offsets() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.txt");
    let dropped = dir.path().join("c.txt");
    let output = dir.path().join("out.txt");
    let data = write_lines(&input, 1_000);
    let dropped_data = write_lines(&dropped, 500);
    let (topic, silent) = (unique("tx"), unique("tx-dropped"));
    let (src, sink, drop) = (unique("tx-src"), unique("tx-sink"), unique("tx-drop"));
    let files = [
        ("src.properties", format!(
            "name={src}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n\
             transforms=hoist,origin,tag,untag,route\n\
             transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\ntransforms.hoist.field=line\n\
             transforms.origin.type=InsertField$Value\ntransforms.origin.static.field=origin\ntransforms.origin.static.value=file\n\
             transforms.tag.type=InsertHeader\ntransforms.tag.header=stage\ntransforms.tag.value.literal=raw\n\
             transforms.untag.type=DropHeaders\ntransforms.untag.headers=stage\ntransforms.untag.predicate=notOurs\ntransforms.untag.negate=true\n\
             transforms.route.type=RegexRouter\ntransforms.route.regex=(.*)\ntransforms.route.replacement=$1-routed\n\
             predicates=notOurs\npredicates.notOurs.type=TopicNameMatches\npredicates.notOurs.pattern=tx-.*\n",
            input.display()
        )),
        ("sink.properties", format!(
            "name={sink}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}-routed\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n\
             transforms=extract,keep\ntransforms.extract.type=ExtractField$Value\ntransforms.extract.field=line\n\
             transforms.keep.type=Filter\ntransforms.keep.predicate=isTombstone\npredicates=isTombstone\npredicates.isTombstone.type=RecordIsTombstone\n",
            output.display()
        )),
        ("drop.properties", format!("name={drop}\nconnector.class=FileStreamSource\nfile={}\ntopic={silent}\ntransforms=all\ntransforms.all.type=Filter\n", dropped.display())),
    ];
    let paths: Vec<_> = files
        .iter()
        .map(|(n, text)| {
            let p = dir.path().join(n);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let offsets = dir.path().join("connect.offsets");
    let port = free_port();
    let worker = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &offsets, 500), &paths, port);
    wait_until(Duration::from_secs(60), "the sink file to hold every line", || {
        std::fs::metadata(&output).map(|m| m.len() as usize >= data.len()).unwrap_or(false)
    });
    // The routed topic holds the hoisted, enriched JSON.
    let records = read_topic(&bootstrap, &format!("{topic}-routed"), 1_000, Duration::from_secs(20));
    assert_eq!(records.len(), 1_000);
    assert_eq!(records[0].0, format!(r#"{{"line":"line 00000000 {}","origin":"file"}}"#, "x".repeat(86)));
    assert_eq!(
        topic_headers(&bootstrap, &format!("{topic}-routed")),
        vec![("stage".to_owned(), b"raw".to_vec())],
        "the negated predicate kept DropHeaders from running"
    );
    // Every record of the filtered source was dropped, yet its offset reached the end of the file.
    wait_until(Duration::from_secs(20), "the dropped source's offset to reach the end", || {
        std::fs::read_to_string(&offsets).map(|t| t.contains(&format!(r#"{{\"position\":{}}}"#, dropped_data.len()))).unwrap_or(false)
    });
    assert_eq!(high_watermark(&bootstrap, &silent), 0, "nothing reached the filtered source's topic");
    assert_eq!(worker.terminate(), Some(0));
    assert!(std::fs::read(&output).unwrap() == data, "extracted lines are byte-identical to the input");
}

/// The line numbers stored in each partition of `topic` (lines read as "line NNNNNNNN ...").
fn lines_by_partition(bootstrap: &str, topic: &str, partitions: i32, expected: usize) -> Vec<Vec<usize>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", unique("parts")).create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut by_partition = vec![Vec::new(); partitions as usize];
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = 0;
    while seen < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            let line: usize = value.split(' ').nth(1).and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
            by_partition[m.partition() as usize].push(line);
            seen += 1;
        }
    }
    by_partition
}

#[test]
fn keyless_records_go_to_one_partition_per_polled_batch_moving_on_with_each_batch() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    write_lines(&input, 60);
    let (topic, name) = (unique("sticky"), unique("sticky-src"));
    let src_file = dir.path().join("source.properties");
    std::fs::write(
        &src_file,
        format!(
            "name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\nbatch.size=10\ntopic.creation.default.partitions=3\ntopic.creation.default.replication.factor=1\n",
            input.display()
        ),
    )
    .unwrap();
    let offsets = dir.path().join("connect.offsets");
    let port = free_port();
    let worker = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &offsets, 500), &[src_file], port);
    let by_partition = lines_by_partition(&bootstrap, &topic, 3, 60);
    assert_eq!(worker.terminate(), Some(0));
    // Batch k (lines 10k..10k+9) of task 0 goes to partition (k + 1) % 3, in order within it.
    let batches = |ks: &[usize]| -> Vec<usize> { ks.iter().flat_map(|k| 10 * k..10 * k + 10).collect() };
    assert_eq!(by_partition, vec![batches(&[2, 5]), batches(&[0, 3]), batches(&[1, 4])]);
}
