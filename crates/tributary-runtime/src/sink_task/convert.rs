//! Consumed records into Connect records: the converters, with retries of retriable failures,
//! and the transformation chain; a consumed record as bytes for the error report.

use super::consumer::SinkConsumer;
use super::context::coordinates;
use super::state::{lock, FailedConversion};
use super::SinkTaskRunner;
use crate::error_handling::{RawRecord, Stage};
use rdkafka::message::{Headers as _, Message, Timestamp};
use std::sync::{Arc, Mutex};
use tributary_api::{ConnectError, Converter, HeaderConverter, Headers, SinkRecord, TimestampType, TopicPartition};

/// The consumed record as bytes, for the dead letter queue.
fn raw_of<M: Message>(m: &M) -> RawRecord {
    let (timestamp, timestamp_type) = match m.timestamp() {
        Timestamp::NotAvailable => (None, None),
        Timestamp::CreateTime(t) => (Some(t), Some("CreateTime")),
        Timestamp::LogAppendTime(t) => (Some(t), Some("LogAppendTime")),
    };
    RawRecord {
        topic: m.topic().to_owned(),
        partition: Some(m.partition()),
        offset: Some(m.offset()),
        timestamp: timestamp.filter(|t| *t >= 0),
        timestamp_type,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers: m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()).unwrap_or_default(),
        extra_headers: Vec::new(),
    }
}

impl<C: SinkConsumer> SinkTaskRunner<C> {
    /// Converts a consumed record into the batch, or sets it aside when a converter fails; its
    /// partition's consumed position moves past it either way.
    pub(super) fn accept<M: Message>(&mut self, m: &M) {
        let state = &mut self.state;
        // librdkafka hands the topic out as a C string, checked for UTF-8 on each call: once.
        let topic = state.topics.get(m.topic());
        // Runs of one partition share one entry: no per-record clone.
        match state.positions.last_mut() {
            Some((tp, o)) if tp.partition == m.partition() && tp.topic == *topic => *o = m.offset() + 1,
            _ => state.positions.push((TopicPartition::new(&*topic, m.partition()), m.offset() + 1)),
        }
        if state.keep_raw {
            lock(&self.context.reporter.raw).insert((topic.clone(), m.partition(), m.offset()), raw_of(m));
        }
        let headers = if state.decode_headers { m.headers() } else { None };
        let header_iter = headers.iter().flat_map(|hs| hs.iter().map(|h| (h.key, h.value)));
        let at = Coordinates { topic, partition: m.partition(), offset: m.offset(), timestamp: m.timestamp() };
        let conv = Conv { key: &*self.key_converter, value: &*self.value_converter, header: &*self.header_converter };
        if let Err((stage, error)) = conv.convert_into(at, m.key(), m.payload(), header_iter, &mut self.state.batch) {
            self.state.failed.push(FailedConversion { raw: raw_of(m), stage, error });
        }
    }

    fn converters(&self) -> Conv<'_> {
        Conv { key: &*self.key_converter, value: &*self.value_converter, header: &*self.header_converter }
    }

    fn converter_class(&self, stage: Stage) -> &str {
        match stage {
            Stage::KeyConverter => &self.converter_classes[0],
            Stage::ValueConverter => &self.converter_classes[1],
            _ => &self.converter_classes[2],
        }
    }

    /// Retries a failed conversion (retriable errors, within `errors.retry.timeout`), then
    /// reports it: `None` when the record is skipped under `errors.tolerance=all`.
    pub(super) async fn handle_failed_conversion(&mut self, f: FailedConversion) -> Result<Option<SinkRecord>, ConnectError> {
        let FailedConversion { raw, mut stage, error } = f;
        let conv = self.converters();
        let error = if error.is_retriable() {
            let stage_seen = Mutex::new(stage);
            let retried = self
                .errors
                .retry_failed(Err(error), &self.state.cancel, || {
                    conv.convert_raw(&raw).map_err(|(s, e)| {
                        *lock(&stage_seen) = s;
                        e
                    })
                })
                .await;
            stage = *lock(&stage_seen);
            match retried {
                Ok(r) => return Ok(Some(r)),
                Err(e) => e,
            }
        } else {
            error
        };
        let class = self.converter_class(stage).to_owned();
        self.report(&raw, stage, &class, error).await.map(|()| None)
    }

    /// Applies the chain to one record; a failing transformation is retried (retriable errors)
    /// and reported, and the record skipped under `errors.tolerance=all`.
    pub(super) async fn transform(&mut self, r: SinkRecord) -> Result<Option<SinkRecord>, ConnectError> {
        // The chain consumes the record: its coordinates are kept for a report (one copy of
        // the topic name; the lookup key is made from them only on failure).
        let coords = coordinates(&r);
        let backup = self.errors.config.retry_timeout.filter(|t| t.is_zero()).is_none().then(|| r.clone());
        let failure = match self.chain.apply_reporting(r) {
            Ok(out) => return Ok(out),
            Err(f) => f,
        };
        let (class, mut error) = (failure.class, failure.error);
        if let (Some(backup), true) = (backup, error.is_retriable()) {
            let retried = self.errors.retry_failed(Err(error), &self.state.cancel, || self.chain.apply_reporting(backup.clone()).map_err(|f| f.error)).await;
            match retried {
                Ok(out) => return Ok(out),
                Err(e) => error = e,
            }
        }
        let key = (Arc::from(coords.topic.as_str()), coords.partition.unwrap_or(0), coords.offset.unwrap_or(-1));
        let raw = lock(&self.context.reporter.raw).get(&key).cloned().unwrap_or(coords);
        self.report(&raw, Stage::Transformation, &class, error).await.map(|()| None)
    }
}

/// The three converters of a sink task, borrowed (Sync, so a retry closure may hold them).
struct Conv<'c> {
    key: &'c dyn Converter,
    value: &'c dyn Converter,
    header: &'c dyn HeaderConverter,
}

/// Where a consumed record came from.
struct Coordinates {
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    timestamp: Timestamp,
}

impl Conv<'_> {
    fn convert_raw(&self, raw: &RawRecord) -> Result<SinkRecord, (Stage, ConnectError)> {
        let timestamp = match (raw.timestamp, raw.timestamp_type) {
            (Some(t), Some("LogAppendTime")) => Timestamp::LogAppendTime(t),
            (Some(t), _) => Timestamp::CreateTime(t),
            (None, _) => Timestamp::NotAvailable,
        };
        let headers = raw.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        let at = Coordinates { topic: raw.topic.as_str().into(), partition: raw.partition.unwrap_or(0), offset: raw.offset.unwrap_or(-1), timestamp };
        let mut one = Vec::with_capacity(1);
        self.convert_into(at, raw.key.as_deref(), raw.value.as_deref(), headers, &mut one)?;
        one.pop().ok_or_else(|| (Stage::ValueConverter, ConnectError::fatal("internal error: a converted record went missing")))
    }

    /// Converts a consumed record onto the end of `into`. The record is built where it is
    /// pushed and finished there: it is a quarter of a kilobyte, and returning it through a
    /// `Result` cost two copies per consumed record (5% of the sink's CPU).
    #[inline]
    fn convert_into<'a>(
        &self,
        at: Coordinates,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        raw_headers: impl Iterator<Item = (&'a str, Option<&'a [u8]>)>,
        into: &mut Vec<SinkRecord>,
    ) -> Result<(), (Stage, ConnectError)> {
        let Coordinates { topic, partition, offset, timestamp: ts } = at;
        let mut headers = Headers::new();
        for (k, v) in raw_headers {
            let sv = self.header.to_connect_header(&topic, k, v).map_err(|e| (Stage::HeaderConverter, e))?;
            headers.add(k, sv.schema, sv.value);
        }
        let key = self.key.to_connect_data(&topic, &headers, key).map_err(|e| (Stage::KeyConverter, e))?;
        let value = self.value.to_connect_data(&topic, &headers, value).map_err(|e| (Stage::ValueConverter, e))?;
        let (timestamp, timestamp_type) = match ts {
            Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            Timestamp::CreateTime(t) => (Some(t).filter(|t| *t >= 0), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t).filter(|t| *t >= 0), TimestampType::LogAppendTime),
        };
        into.push(SinkRecord::new(topic, partition, key, value, offset));
        if let Some(record) = into.last_mut() {
            record.timestamp = timestamp;
            record.meta.timestamp_type = timestamp_type;
            record.headers = headers;
        }
        Ok(())
    }
}
