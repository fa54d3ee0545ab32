//! A source record through the transformation chain and the converters, with retries of
//! retriable failures; and a failed record as bytes for the error report.

use super::in_flight::Batch;
use super::producer::RecordSender;
use super::SourceTaskRunner;
use crate::error_handling::{RawRecord, Stage};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use tributary_api::{ConnectError, Converter, HeaderConverter, Headers, SchemaRef, SourceRecord, Value};

/// Bytes of a record's key or value: lent by the record when the converter can (String,
/// ByteArray), else the converter's output.
pub(super) type Bytes<'r> = Option<Cow<'r, [u8]>>;

/// A record's key, value and headers as bytes.
pub(super) type Converted<'r> = (Bytes<'r>, Bytes<'r>, Option<OwnedHeaders>);

/// The parts of a record the converters read: its key and value are borrowed apart from its
/// headers (which converters may add to), so the bytes can borrow the record.
pub(super) struct Parts<'r> {
    pub topic: &'r Arc<str>,
    headers: &'r mut Headers,
    key_schema: Option<&'r SchemaRef>,
    key: &'r Value,
    value_schema: Option<&'r SchemaRef>,
    value: &'r Value,
    pub kafka_partition: Option<i32>,
    pub timestamp: Option<i64>,
}

impl<'r> Parts<'r> {
    pub fn of(record: &'r mut SourceRecord) -> Self {
        Parts {
            topic: &record.topic,
            headers: &mut record.headers,
            key_schema: record.key_schema.as_ref(),
            key: &record.key,
            value_schema: record.value_schema.as_ref(),
            value: &record.value,
            kafka_partition: record.kafka_partition,
            timestamp: record.timestamp,
        }
    }
}

/// The record's key, value and headers as bytes; on failure, the stage that failed. A free
/// function over the converters (all `Sync`) so a retry loop can hold it across awaits.
fn convert<'r>(
    key_converter: &dyn Converter,
    value_converter: &dyn Converter,
    header_converter: &dyn HeaderConverter,
    parts: &mut Parts<'r>,
) -> Result<Converted<'r>, (Stage, ConnectError)> {
    let topic = parts.topic;
    let key = key_converter.from_connect_data(topic, parts.headers, parts.key_schema, parts.key).map_err(|e| (Stage::KeyConverter, e))?;
    let value = value_converter.from_connect_data(topic, parts.headers, parts.value_schema, parts.value).map_err(|e| (Stage::ValueConverter, e))?;
    if parts.headers.is_empty() {
        // Most records have none: no librdkafka header list to allocate and copy.
        return Ok((key, value, None));
    }
    let mut headers = OwnedHeaders::new_with_capacity(parts.headers.len());
    for h in parts.headers.iter() {
        let bytes = header_converter.from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value).map_err(|e| (Stage::HeaderConverter, e))?;
        headers = headers.insert(KafkaHeader { key: &h.key, value: bytes.as_deref() });
    }
    Ok((key, value, Some(headers)))
}

impl<P: RecordSender> SourceTaskRunner<P> {
    /// Applies the chain to record `i` of `batch` (to a copy: `commit_record` gets the
    /// original); a retriable failure is retried within `errors.retry.timeout`, and a failure
    /// reported. `None`: dropped by the chain, or failed and tolerated (in the DLQ); its offset
    /// still commits in send order.
    pub(super) async fn transform(&mut self, batch: &mut Batch, i: usize) -> Result<Option<SourceRecord>, ConnectError> {
        let original = &batch.records[i];
        let outcome = match self.chain.apply_reporting(original.clone()) {
            Ok(out) => Ok(out),
            Err(f) if f.error.is_retriable() => {
                let chain = &self.chain;
                let retried = self.errors.retry_failed(Err(f.error), &self.state.cancel, || chain.apply_reporting(original.clone()).map_err(|f| f.error)).await;
                retried.map_err(|e| (f.class, e))
            }
            Err(f) => Err((f.class, f.error)),
        };
        match outcome {
            Ok(Some(t)) => {
                if t.topic != original.topic {
                    batch.routed(i, t.topic.clone());
                }
                Ok(Some(t))
            }
            Ok(None) => Ok(None),
            Err((class, error)) => {
                let raw = self.source_raw(original, &original.topic);
                self.report(&raw, Stage::Transformation, &class, error).await?;
                Ok(None)
            }
        }
    }

    /// Converts a record's key, value and headers, retrying a retriable failure within
    /// `errors.retry.timeout`; on failure, the stage that failed (reported by the caller, who
    /// has the record as the task produced it).
    pub(super) async fn convert<'r>(&mut self, parts: &mut Parts<'r>) -> Result<Converted<'r>, (Stage, ConnectError)> {
        let (kc, vc, hc) = (&*self.key_converter, &*self.value_converter, &*self.header_converter);
        match convert(kc, vc, hc, parts) {
            Err((stage, error)) if error.is_retriable() => {
                let stage_seen = Mutex::new(stage);
                let retried = self
                    .errors
                    .retry_failed(Err(error), &self.state.cancel, || {
                        convert(kc, vc, hc, parts).map_err(|(s, e)| {
                            *stage_seen.lock().unwrap_or_else(|p| p.into_inner()) = s;
                            e
                        })
                    })
                    .await;
                let stage = *stage_seen.lock().unwrap_or_else(|p| p.into_inner());
                retried.map_err(|e| (stage, e))
            }
            other => other,
        }
    }

    /// Kafka's class name of the converter that failed at `stage`, for the report.
    pub(super) fn converter_class(&self, stage: Stage) -> &str {
        &self.converter_classes[match stage {
            Stage::KeyConverter => 0,
            Stage::ValueConverter => 1,
            _ => 2,
        }]
    }

    /// A failed source record as DLQ bytes: the connector's converters where they work, else
    /// schemaless JSON; the source partition and offset go in context headers.
    pub(super) fn source_raw(&self, record: &SourceRecord, topic: &str) -> RawRecord {
        if !self.errors.has_dlq() {
            return RawRecord { topic: topic.to_owned(), partition: record.kafka_partition, timestamp: record.timestamp, ..Default::default() };
        }
        let mut scratch = record.headers.clone();
        let mut bytes = |c: &dyn Converter, schema, value: &Value| {
            c.from_connect_data(topic, &mut scratch, schema, value)
                .or_else(|_| self.fallback_converter.from_connect_data(topic, &mut scratch, schema, value))
                .ok()
                .flatten()
                .map(Cow::into_owned)
        };
        let key = bytes(&*self.key_converter, record.key_schema.as_ref(), &record.key);
        let value = bytes(&*self.value_converter, record.value_schema.as_ref(), &record.value);
        let headers = record
            .headers
            .iter()
            .map(|h| (h.key.clone(), self.header_converter.from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value).ok().flatten()))
            .collect();
        let mut extra =
            vec![("source.partition".to_owned(), serde_json::Value::Object(crate::offset_store::to_map(&record.meta.source_partition)).to_string())];
        if let Some(o) = &record.meta.source_offset {
            extra.push(("source.offset".to_owned(), serde_json::Value::Object(crate::offset_store::to_map(o)).to_string()));
        }
        RawRecord {
            topic: topic.to_owned(),
            partition: record.kafka_partition,
            offset: None,
            timestamp: record.timestamp,
            timestamp_type: None,
            key,
            value,
            headers,
            extra_headers: extra,
        }
    }
}
