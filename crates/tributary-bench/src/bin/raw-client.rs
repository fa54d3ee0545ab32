//! `raw-client produce|produce-batch|consume|wait BOOTSTRAP TOPIC RECORDS [SIZE|FILE]`: sends or reads RECORDS
//! records with the worker's client settings, then prints one line of `key=value` results
//! (records, seconds, records_per_sec). Produce creates the topic (one partition) if needed and
//! sends records of SIZE bytes (default 100) or, when FILE is given, its first RECORDS lines, read
//! as FileStreamSource reads them: the baseline a source worker is measured against. Consume
//! reads from the beginning until it has RECORDS records and, when FILE is given, appends each
//! value and a newline to it, as FileStreamSink does: the baseline a sink worker is measured
//! against.
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(bootstrap), Some(topic), Some(records)) = (args.first(), args.get(1), args.get(2), args.get(3).and_then(|n| n.parse::<usize>().ok()))
    else {
        eprintln!("usage: raw-client produce|produce-batch|consume|wait BOOTSTRAP TOPIC RECORDS [SIZE|FILE]");
        return ExitCode::from(2);
    };
    if mode == "wait" {
        // `raw-client wait BOOTSTRAP TOPIC RECORDS`: waits until the topic (partition 0) holds
        // RECORDS records; prints when the first and the last arrived, in ms since the call.
        return match wait(bootstrap, topic, records).await {
            Ok((first, done)) => {
                println!("first_ms={first} done_ms={done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("raw-client: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = match mode.as_str() {
        "produce" | "produce-batch" => match Input::from_arg(args.get(4)) {
            Ok(input) => produce(bootstrap, topic, records, input, mode == "produce-batch").await,
            Err(e) => Err(e),
        },
        "consume" => consume(bootstrap, topic, records, args.get(4).map(std::path::PathBuf::from)).await,
        _ => Err("mode must be produce, produce-batch, consume or wait".to_owned()),
    };
    match result {
        Ok((secs, ticks)) => {
            println!("mode={mode} records={records} seconds={secs:.3} records_per_sec={:.0} cpu_ticks={ticks}", records as f64 / secs);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("raw-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Delivery reports counted by the producer's callback, on the thread that polls.
struct CountingContext {
    acked: std::sync::atomic::AtomicUsize,
    failed: std::sync::atomic::AtomicUsize,
}
impl rdkafka::ClientContext for CountingContext {}
impl rdkafka::producer::ProducerContext for CountingContext {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        use std::sync::atomic::Ordering::Relaxed;
        match r {
            Ok(_) => self.acked.fetch_add(1, Relaxed),
            Err(_) => self.failed.fetch_add(1, Relaxed),
        };
    }
}

/// What `produce` sends.
enum Input {
    /// The same payload every time.
    Fixed(Vec<u8>),
    /// A file's lines, without their line ends.
    Lines { path: String, reader: std::io::BufReader<std::fs::File>, line: Vec<u8> },
}

impl Input {
    /// A number is a payload size; anything else names the file to send the lines of.
    fn from_arg(arg: Option<&String>) -> Result<Input, String> {
        let Some(arg) = arg else { return Ok(Input::Fixed(vec![b'x'; 100])) };
        if let Ok(size) = arg.parse::<usize>() {
            return Ok(Input::Fixed(vec![b'x'; size]));
        }
        let file = std::fs::File::open(arg).map_err(|e| format!("{arg}: {e}"))?;
        // The worker's file source reads 64 KiB at a time.
        Ok(Input::Lines { path: arg.clone(), reader: std::io::BufReader::with_capacity(64 * 1024, file), line: Vec::new() })
    }

    /// The next payload; `None` past the end of the file.
    fn next(&mut self) -> Result<Option<&[u8]>, String> {
        use std::io::BufRead;
        match self {
            Input::Fixed(payload) => Ok(Some(payload)),
            Input::Lines { path, reader, line } => {
                line.clear();
                if reader.read_until(b'\n', line).map_err(|e| format!("{path}: {e}"))? == 0 {
                    return Ok(None);
                }
                let mut end = line.len();
                if line[..end].ends_with(b"\n") {
                    end -= 1;
                }
                if line[..end].ends_with(b"\r") {
                    end -= 1;
                }
                Ok(Some(&line[..end]))
            }
        }
    }
}

/// Lines sent per batch call by `produce-batch`: FileStreamSource's default `batch.size`.
const LINES_PER_BATCH: usize = 2000;

/// Sends with a `BaseProducer` polled on this thread: the cheapest way to use librdkafka from
/// Rust (no future or channel per record), so the floor under the worker's source path.
/// Returns the seconds from the first send to the last acknowledgement, and the CPU ticks spent
/// from creating the producer to the end (process start-up and topic creation left out, as the
/// worker's figures leave out its own start-up).
///
/// `batched` (`produce-batch`) sends runs of lines to partition 0 through librdkafka's batch
/// call (`tributary_batch_producer`), as the worker sends records without headers or timestamps
/// of their own; plain `produce` sends each line through rdkafka's `send`.
async fn produce(bootstrap: &str, topic: &str, records: usize, mut input: Input, batched: bool) -> Result<(f64, u64), String> {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    use std::sync::atomic::Ordering::Relaxed;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().map_err(|e| e.to_string())?;
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    let _ = admin.create_topics([&new], &AdminOptions::new()).await;
    let ticks = cpu_ticks();
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // The worker's source producer settings (kafka::producer_config).
        .set("acks", "all")
        .set("enable.idempotence", "false")
        .set("max.in.flight.requests.per.connection", "1")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5");
    // RAW_CLIENT_PRODUCER="key=value,..." adds settings, to compare client settings.
    for (key, value) in std::env::var("RAW_CLIENT_PRODUCER").unwrap_or_default().split(',').filter_map(|kv| kv.split_once('=')) {
        config.set(key, value);
    }
    let producer: BaseProducer<CountingContext> =
        config.create_with_context(CountingContext { acked: Default::default(), failed: Default::default() }).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut sent = 0;
    if batched {
        let mut producer = tributary_batch_producer::BatchProducer::new(producer);
        let (mut bytes, mut ends, mut results) = (Vec::new(), Vec::new(), Vec::new());
        while sent < records {
            bytes.clear();
            ends.clear();
            while ends.len() < LINES_PER_BATCH.min(records - sent) {
                let Some(payload) = input.next()? else {
                    return Err(format!("the input has {} lines, not {records}", sent + ends.len()));
                };
                bytes.extend_from_slice(payload);
                ends.push(bytes.len());
            }
            let mut from = 0;
            while from < ends.len() {
                let lines = (from..ends.len()).map(|i| tributary_batch_producer::BatchRecord {
                    key: None,
                    payload: Some(&bytes[if i == 0 { 0 } else { ends[i - 1] }..ends[i]]),
                    partition: Some(0),
                    opaque: (),
                });
                producer.send_batch(topic, lines, &mut results).map_err(|e| e.to_string())?;
                // After a full queue every later line is refused too: send again from there.
                match results.iter().enumerate().find_map(|(k, r)| r.as_ref().err().map(|(code, _)| (k, *code))) {
                    None => from = ends.len(),
                    Some((k, RDKafkaErrorCode::QueueFull)) => {
                        from += k;
                        producer.poll(Duration::from_millis(10));
                    }
                    Some((_, code)) => return Err(code.to_string()),
                }
            }
            sent += ends.len();
            producer.poll(Duration::ZERO);
        }
        while producer.context().acked.load(Relaxed) + producer.context().failed.load(Relaxed) < records {
            producer.poll(Duration::from_millis(10));
        }
        if producer.context().failed.load(Relaxed) > 0 {
            return Err(format!("{} records failed", producer.context().failed.load(Relaxed)));
        }
        return Ok((start.elapsed().as_secs_f64(), cpu_ticks() - ticks));
    }
    while sent < records {
        let Some(payload) = input.next()? else {
            return Err(format!("the input has {sent} lines, not {records}"));
        };
        loop {
            match producer.send::<[u8], [u8]>(BaseRecord::to(topic).payload(payload)) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Not shorter: rdkafka's poll turns a deadline under a millisecond into a
                    // zero timeout, and a 1 ms poll spun the CPU while the queue was full.
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(e.to_string()),
            }
        }
        sent += 1;
        if sent % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    while producer.context().acked.load(Relaxed) + producer.context().failed.load(Relaxed) < records {
        producer.poll(Duration::from_millis(10));
    }
    if producer.context().failed.load(Relaxed) > 0 {
        return Err(format!("{} records failed", producer.context().failed.load(Relaxed)));
    }
    Ok((start.elapsed().as_secs_f64(), cpu_ticks() - ticks))
}

async fn wait(bootstrap: &str, topic: &str, records: usize) -> Result<(u128, u128), String> {
    let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut first = None;
    loop {
        let high = consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)).map(|(_, h)| h).unwrap_or(0);
        if high > 0 && first.is_none() {
            first = Some(start.elapsed().as_millis());
        }
        if high as usize >= records {
            return Ok((first.unwrap_or(0), start.elapsed().as_millis()));
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(format!("timed out with {high} of {records} records in {topic}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Returns the seconds from the first record to the last, and the CPU ticks spent from creating
/// the consumer to the end.
async fn consume(bootstrap: &str, topic: &str, records: usize, file: Option<std::path::PathBuf>) -> Result<(f64, u64), String> {
    use rdkafka::Message;
    use std::io::Write;
    let mut config = ClientConfig::new();
    // The worker's sink consumer settings (kafka::consumer_config).
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("raw-client-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.queue.backoff.ms", "10");
    let mut out = match &file {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)),
        None => None,
    };
    // RAW_CLIENT_CONSUMER="key=value,..." adds settings, to compare with the worker's consumer.
    for kv in std::env::var("RAW_CLIENT_CONSUMER").unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        if let Some((k, v)) = kv.split_once('=') {
            config.set(k, v);
        }
    }
    let ticks = cpu_ticks();
    let consumer: StreamConsumer = config.create().map_err(|e| e.to_string())?;
    consumer.subscribe(&[topic]).map_err(|e| e.to_string())?;
    let mut start = None;
    let mut n = 0;
    while n < records {
        match tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await {
            Ok(Ok(m)) => {
                start.get_or_insert_with(Instant::now);
                if let Some(out) = out.as_mut() {
                    out.write_all(m.payload().unwrap_or_default()).and_then(|_| out.write_all(b"\n")).map_err(|e| e.to_string())?;
                }
                n += 1;
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("timed out after {n} records")),
        }
    }
    if let Some(out) = out.as_mut() {
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok((start.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0), cpu_ticks() - ticks))
}

/// User + system CPU of this process so far, in clock ticks (`/proc/self/stat` fields 14 and 15),
/// so the benchmark can put the raw client's CPU per million records beside the workers'.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so fields 14 and 15 are at 11 and 12.
    let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}
