//! The seam for converters that fetch (a Schema Registry's): `Converter` is synchronous, and a
//! converter that misses its cache makes a blocking call from the task's own thread, where
//! nothing else runs. `RegistryConverter` here frames values as Confluent's wire format does
//! (magic byte 0, a 4-byte schema id, the payload), registering its subject on first use and
//! fetching an unknown id on first sight, each from a registry the test serves over HTTP.
//!
//! Through the real broker, a source writes 40 records with it and a FileStreamSink reads them
//! back with it: every value arrives, and the registry is asked exactly once each way (a steady
//! stream makes no registry call).

mod common;

use async_trait::async_trait;
use common::OneTaskSource;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tributary_api::{
    ConfigMap, ConnectError, ConnectorPlugin, ConnectorType, Converter, ConverterPlugin, Headers, OffsetMap, PluginSet, PluginType, Schema, SchemaAndValue,
    SchemaRef, SourceRecord, SourceTask, SourceTaskContext, Value,
};
use tributary_runtime::herder::Herder;

const RECORDS: i64 = 40;

/// Registry requests, across this test binary: (registrations, id look-ups).
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
static LOOKED_UP: AtomicUsize = AtomicUsize::new(0);

/// A registry of one schema: `POST /subjects/<s>/versions` answers id 7, `GET /schemas/ids/7`
/// answers the schema's name. Each request on its own connection.
fn serve_registry() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = if request_line.starts_with("POST /subjects/") {
                REGISTERED.fetch_add(1, Ordering::SeqCst);
                r#"{"id":7}"#
            } else if request_line.starts_with("GET /schemas/ids/7") {
                LOOKED_UP.fetch_add(1, Ordering::SeqCst);
                r#"{"schema":"line"}"#
            } else {
                r#"{"error_code":40403,"message":"Schema not found"}"#
            };
            let mut stream = reader.into_inner();
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len());
        }
    });
    port
}

/// A blocking HTTP call, bounded: what a converter may do on a cache miss.
fn call(url: &str, method: &str, path: &str, body: &str) -> tributary_api::Result<String> {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let failed = |e: std::io::Error| ConnectError::retriable(format!("schema registry at {url}: {e}"));
    let mut stream = TcpStream::connect(address).map_err(failed)?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(failed)?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).map_err(failed)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(failed)?;
    Ok(response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

#[derive(Default)]
struct RegistryConverter {
    url: String,
    /// Subject → id, and id → schema name: each filled once, from the registry.
    ids: Mutex<HashMap<String, u32>>,
    schemas: Mutex<HashMap<u32, String>>,
}

impl Converter for RegistryConverter {
    fn configure(&mut self, config: &ConfigMap, _is_key: bool) -> tributary_api::Result<()> {
        self.url = config.get("registry.url").cloned().ok_or_else(|| ConnectError::config("registry.url is required"))?;
        Ok(())
    }

    fn from_connect_data<'v>(
        &self,
        topic: &str,
        _headers: &mut Headers,
        _schema: Option<&SchemaRef>,
        value: &'v Value,
    ) -> tributary_api::Result<Option<Cow<'v, [u8]>>> {
        let Value::String(text) = value else { return Err(ConnectError::data("a string was expected")) };
        let subject = format!("{topic}-value");
        let cached = self.ids.lock().expect("ids lock").get(&subject).copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let body = call(&self.url, "POST", &format!("/subjects/{subject}/versions"), r#"{"schema":"\"string\""}"#)?;
                let id =
                    body.trim_start_matches(r#"{"id":"#).trim_end_matches('}').parse().map_err(|_| ConnectError::data(format!("registry answered {body}")))?;
                self.ids.lock().expect("ids lock").insert(subject, id);
                id
            }
        };
        let mut framed = vec![0u8];
        framed.extend_from_slice(&id.to_be_bytes());
        framed.extend_from_slice(text.as_bytes());
        Ok(Some(Cow::Owned(framed)))
    }

    fn to_connect_data(&self, _topic: &str, _headers: &Headers, bytes: Option<&[u8]>) -> tributary_api::Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::NULL) };
        if bytes.len() < 5 || bytes[0] != 0 {
            return Err(ConnectError::data("Unknown magic byte!"));
        }
        let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let cached = self.schemas.lock().expect("schemas lock").get(&id).cloned();
        let name = match cached {
            Some(name) => name,
            None => {
                let body = call(&self.url, "GET", &format!("/schemas/ids/{id}"), "")?;
                let name = body.trim_start_matches(r#"{"schema":""#).trim_end_matches("\"}").to_owned();
                self.schemas.lock().expect("schemas lock").insert(id, name.clone());
                name
            }
        };
        let payload = String::from_utf8_lossy(&bytes[5..]);
        Ok(SchemaAndValue { schema: Some(Schema::string()), value: Value::String(format!("{name}:{payload}")) })
    }
}

#[derive(Default)]
struct CountingTask {
    topic: String,
    next: i64,
}

#[async_trait]
impl SourceTask for CountingTask {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, context: SourceTaskContext) -> tributary_api::Result<()> {
        self.topic = context.configs().get("topic").cloned().unwrap_or_default();
        Ok(())
    }
    async fn poll(&mut self) -> tributary_api::Result<Vec<SourceRecord>> {
        if self.next >= RECORDS {
            std::future::pending::<()>().await;
        }
        let partition = Arc::new(OffsetMap::from([("p".to_owned(), Value::Int64(0))]));
        let batch: Vec<SourceRecord> = (self.next..(self.next + 10).min(RECORDS))
            .map(|n| {
                let offset = OffsetMap::from([("n".to_owned(), Value::Int64(n + 1))]);
                SourceRecord::new(partition.clone(), Some(offset), self.topic.as_str(), Some(Schema::string()), Value::String(format!("v{n}")))
            })
            .collect();
        self.next += batch.len() as i64;
        Ok(batch)
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converter_fetches_on_a_cache_miss_from_the_tasks_thread() {
    let registry = format!("http://127.0.0.1:{}", serve_registry());
    let plugins = PluginSet::new()
        .with_connector(ConnectorPlugin::new("com.example.CountingSourceConnector", "test", PluginType::Source, || {
            ConnectorType::Source(Box::<OneTaskSource<CountingTask>>::default())
        }))
        .with_converter(ConverterPlugin::new("com.example.RegistryConverter", "test", || Box::<RegistryConverter>::default()));
    let (herder, dir) = common::standalone_with(plugins, &[]);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let topic = format!("converter-fetch-{}-{nanos}", std::process::id());
    let out = dir.path().join("out.txt");
    let converter = [("value.converter", "RegistryConverter"), ("value.converter.registry.url", registry.as_str())];
    let source = config(&[[("connector.class", "CountingSource"), ("topic", topic.as_str())].as_slice(), &converter].concat());
    let out_path = out.display().to_string();
    let sink = config(&[[("connector.class", "FileStreamSink"), ("topics", topic.as_str()), ("file", out_path.as_str())].as_slice(), &converter].concat());
    herder.put_connector_config("fetching-source", source, false, None).await.expect("source");
    herder.put_connector_config("fetching-sink", sink, false, None).await.expect("sink");

    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = || std::fs::read_to_string(&out).unwrap_or_default().lines().map(str::to_owned).collect::<Vec<_>>();
    while lines().len() < RECORDS as usize {
        assert!(Instant::now() < deadline, "timed out; the sink wrote {:?}", lines());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected: Vec<String> = (0..RECORDS).map(|n| format!("line:v{n}")).collect();
    assert_eq!(lines(), expected, "every value through the registry's framing, in order");
    assert_eq!(REGISTERED.load(Ordering::SeqCst), 1, "the subject is registered once, then cached");
    assert_eq!(LOOKED_UP.load(Ordering::SeqCst), 1, "the id is fetched once, then cached");
    herder.stop().await;
}
