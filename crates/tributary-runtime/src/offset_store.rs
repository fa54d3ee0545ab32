//! Source offset storage. Keys and values are the bytes Kafka Connect writes to its offsets
//! topic: key `["<connector>",{<source partition>}]`, value `{<source offset>}`, both compact
//! schemaless JSON. Standalone mode keeps them in a file (`offset.storage.file.filename`).

use crate::error::RuntimeError;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tributary_api::{ConfigMap, ConnectError, Converter, Headers, OffsetMap, OffsetStorageReader, Value};

/// Where source offsets live.
#[async_trait]
pub trait OffsetBackingStore: Send + Sync {
    /// The stored value of a key.
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RuntimeError>;
    /// Writes entries (a `None` value deletes) and returns once they are durable.
    async fn set(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RuntimeError>;
    /// Every stored entry (for the offsets REST endpoints).
    async fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>, RuntimeError>;
}

/// Offsets in a local file, rewritten whole on every flush: write a temporary file, fsync it,
/// rename it over the old one, fsync the directory. A crash leaves either the old or the new
/// file, never a torn one.
///
/// The file is JSON, `{"offsets":[["<key json>","<value json>"],...]}`; Kafka's own file is a
/// Java-serialized `HashMap`, which no other tool can read, so we do not copy that part.
pub struct FileOffsetStore {
    path: PathBuf,
    data: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// Serializes writers so an older snapshot never replaces a newer one.
    write_lock: tokio::sync::Mutex<()>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct OffsetFile {
    offsets: Vec<(String, String)>,
}

impl FileOffsetStore {
    /// Opens the store, loading the file if it exists.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, RuntimeError> {
        let path = path.into();
        let shown = path.display().to_string();
        let data = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: OffsetFile = serde_json::from_slice(&bytes)
                    .map_err(|e| RuntimeError::Config(format!("The offsets file {shown} is not a Tributary offsets file: {e}")))?;
                file.offsets.into_iter().map(|(k, v)| (k.into_bytes(), v.into_bytes())).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(RuntimeError::io(shown, e)),
        };
        Ok(Self { path, data: Mutex::new(data), write_lock: tokio::sync::Mutex::new(()) })
    }

    fn snapshot(&self) -> Vec<u8> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let offsets = data.iter().map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned())).collect();
        serde_json::to_vec(&OffsetFile { offsets }).unwrap_or_default()
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl OffsetBackingStore for FileOffsetStore {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RuntimeError> {
        Ok(self.data.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned())
    }

    async fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>, RuntimeError> {
        Ok(self.data.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    async fn set(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RuntimeError> {
        let _writer = self.write_lock.lock().await;
        {
            let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
            for (k, v) in entries {
                match v {
                    Some(v) => data.insert(k, v),
                    None => data.remove(&k),
                };
            }
        }
        let bytes = self.snapshot();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes).map_err(|e| RuntimeError::io(path.display().to_string(), e)))
            .await
            .map_err(|e| RuntimeError::Other(format!("offset writer panicked: {e}")))?
    }
}

/// Encodes offsets keys and values as Kafka Connect does: its internal JsonConverter with
/// `schemas.enable=false`.
pub struct OffsetCodec {
    json: Box<dyn Converter>,
}

impl OffsetCodec {
    pub fn new() -> Result<Self, RuntimeError> {
        let mut json = tributary_converters::new_converter("org.apache.kafka.connect.json.JsonConverter")
            .ok_or_else(|| RuntimeError::Other("JsonConverter missing from the build".into()))?;
        let config: ConfigMap = [("schemas.enable".to_owned(), "false".to_owned())].into();
        json.configure(&config, false)?;
        Ok(Self { json })
    }

    fn encode(&self, value: &Value) -> Result<Vec<u8>, ConnectError> {
        self.json
            .from_connect_data("", &mut Headers::new(), None, value)?
            .map(|b| b.into_owned())
            .ok_or_else(|| ConnectError::data("offset serialized to null"))
    }

    /// `["<connector>",{<partition>}]`.
    pub fn key(&self, connector: &str, partition: &OffsetMap) -> Result<Vec<u8>, ConnectError> {
        self.encode(&Value::Array(vec![Value::String(connector.to_owned()), map_value(partition)]))
    }

    /// `{<offset>}`.
    pub fn value(&self, offset: &OffsetMap) -> Result<Vec<u8>, ConnectError> {
        self.encode(&map_value(offset))
    }

    /// Decodes a stored key: the connector name and the source partition.
    pub fn decode_key(&self, bytes: &[u8]) -> Option<(String, OffsetMap)> {
        let sv = self.json.to_connect_data("", &Headers::new(), Some(bytes)).ok()?;
        let Value::Array(mut parts) = sv.value else { return None };
        if parts.len() != 2 {
            return None;
        }
        let partition = parts.pop()?;
        let Value::String(name) = parts.pop()? else { return None };
        let Value::Map(entries) = partition else { return None };
        let map = entries.into_iter().map(|(k, v)| match k {
            Value::String(k) => Some((k, v)),
            _ => None,
        });
        Some((name, map.collect::<Option<OffsetMap>>()?))
    }

    /// Decodes a stored value into an offset map.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<Option<OffsetMap>, ConnectError> {
        let sv = self.json.to_connect_data("", &Headers::new(), Some(bytes))?;
        match sv.value {
            Value::Null => Ok(None),
            Value::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| match k {
                    Value::String(k) => Ok((k, v)),
                    other => Err(ConnectError::data(format!("offset key is not a string: {other}"))),
                })
                .collect::<Result<OffsetMap, _>>()
                .map(Some),
            other => Err(ConnectError::data(format!("stored offset is not a JSON object: {other}"))),
        }
    }
}

fn map_value(m: &OffsetMap) -> Value {
    Value::Map(m.iter().map(|(k, v)| (Value::String(k.to_owned()), v.clone())).collect())
}

/// The [`OffsetStorageReader`] handed to one connector's tasks.
pub struct ConnectorOffsetReader {
    pub connector: String,
    pub store: Arc<dyn OffsetBackingStore>,
    pub codec: Arc<OffsetCodec>,
}

#[async_trait]
impl OffsetStorageReader for ConnectorOffsetReader {
    async fn offset(&self, partition: &OffsetMap) -> tributary_api::Result<Option<OffsetMap>> {
        let key = self.codec.key(&self.connector, partition)?;
        let stored = self.store.get(&key).await.map_err(|e| ConnectError::retriable(format!("cannot read offsets: {e}")))?;
        match stored {
            Some(bytes) => self.codec.decode_value(&bytes),
            None => Ok(None),
        }
    }
}

/// An offset map as the JSON object Kafka's REST API and context headers show it.
pub(crate) fn to_map(m: &OffsetMap) -> serde_json::Map<String, serde_json::Value> {
    m.iter().map(|(k, v)| (k.to_owned(), to_json(v))).collect()
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Boolean(b) => (*b).into(),
        Value::String(s) => s.clone().into(),
        Value::Float32(f) => serde_json::Number::from_f64(f64::from(*f)).map(Into::into).unwrap_or_default(),
        Value::Float64(f) => serde_json::Number::from_f64(*f).map(Into::into).unwrap_or_default(),
        other => other.as_i64().map(Into::into).unwrap_or_else(|| other.to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_match_kafka_connects_bytes() {
        let codec = OffsetCodec::new().unwrap();
        let partition = OffsetMap::from([("filename".to_owned(), Value::String("/tmp/in.txt".into()))]);
        let offset = OffsetMap::from([("position".to_owned(), Value::Int64(1234))]);
        assert_eq!(codec.key("my-file-src", &partition).unwrap(), br#"["my-file-src",{"filename":"/tmp/in.txt"}]"#);
        assert_eq!(codec.value(&offset).unwrap(), br#"{"position":1234}"#);
        assert_eq!(codec.decode_value(br#"{"position":1234}"#).unwrap(), Some(offset));
    }

    #[tokio::test]
    async fn file_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/connect.offsets");
        let store = FileOffsetStore::open(&path).unwrap();
        store.set(vec![(b"k1".to_vec(), Some(b"v1".to_vec())), (b"k2".to_vec(), Some(b"v2".to_vec()))]).await.unwrap();
        store.set(vec![(b"k2".to_vec(), None), (b"k1".to_vec(), Some(b"v3".to_vec()))]).await.unwrap();
        let reopened = FileOffsetStore::open(&path).unwrap();
        assert_eq!(reopened.get(b"k1").await.unwrap(), Some(b"v3".to_vec()));
        assert_eq!(reopened.get(b"k2").await.unwrap(), None);
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn corrupt_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.offsets");
        std::fs::write(&path, b"\xac\xed\x00\x05java").unwrap();
        let err = FileOffsetStore::open(&path).err().unwrap().to_string();
        assert!(err.contains("bad.offsets") && err.contains("not a Tributary offsets file"), "{err}");
    }
}
