//! Sends many records to one topic in one call: librdkafka's `rd_kafka_produce_batch`, which
//! rdkafka does not expose.
//!
//! Why: rdkafka's `BaseProducer::send` calls `rd_kafka_producev` once per record, and each call
//! builds a C string of the topic name, looks the topic up by name under librdkafka's lock, and
//! reads the clock three times. The batch call takes a topic handle, kept here per topic, and
//! reads the clock once per call. Measured with the raw producer, 1M lines: 0.90 → 0.60
//! CPU-seconds per million records (BENCHMARKS.md).
//!
//! The batch call sets no headers and stamps every record with the time of the call, so records
//! with headers or a timestamp of their own go through [`BaseProducer::send`] (reachable
//! through `Deref`).
//!
//! This is the workspace's only unsafe code; each block says why it holds.

use rdkafka::bindings as rdsys;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer as _, ProducerContext};
use rdkafka::util::IntoOpaque;
use std::ffi::{c_int, c_void, CString};
use std::ptr::{self, NonNull};

/// One record for [`BatchProducer::send_batch`]; the bytes are copied during the call.
#[derive(Debug, Clone, Copy)]
pub struct BatchRecord<'a, O> {
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    /// `None`: librdkafka's partitioner places the record.
    pub partition: Option<i32>,
    /// Given back to the producer context's delivery callback.
    pub opaque: O,
}

/// Topic handles kept per producer; beyond this the least recently used is released.
const MAX_TOPIC_HANDLES: usize = 64;

/// librdkafka's "no partition" (`RD_KAFKA_PARTITION_UA`, a C macro the bindings lack).
const PARTITION_UNASSIGNED: i32 = -1;

/// Most records per librdkafka call (its count is a C `int`).
const MAX_RECORDS_PER_CALL: usize = 10_000;

/// A librdkafka topic handle, released on drop.
struct TopicHandle {
    name: Box<str>,
    rkt: NonNull<rdsys::rd_kafka_topic_t>,
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: `rkt` came from `rd_kafka_topic_new` and is released once, here. The
        // producer it belongs to is still alive: `BatchProducer` drops its handles first.
        #[allow(unsafe_code)]
        unsafe {
            rdsys::rd_kafka_topic_destroy(self.rkt.as_ptr())
        };
    }
}

/// A `BaseProducer` that can also send batches ([`send_batch`](Self::send_batch)); everything
/// else is the producer's own API, through `Deref`.
pub struct BatchProducer<C: ProducerContext + 'static> {
    // Declared before `producer`: handles are released before the producer is destroyed.
    topics: Vec<TopicHandle>,
    messages: Vec<rdsys::rd_kafka_message_t>,
    producer: BaseProducer<C>,
}

// SAFETY: librdkafka's topic handles may be used and released from any thread, and `messages`
// holds pointers only during `send_batch` (it is emptied before the call returns); the rest is
// the `BaseProducer`, which is `Send` and `Sync` itself.
#[allow(unsafe_code)]
unsafe impl<C: ProducerContext + 'static> Send for BatchProducer<C> where BaseProducer<C>: Send {}
// SAFETY: as for `Send`; `&self` only reaches the `BaseProducer`, which is `Sync`.
#[allow(unsafe_code)]
unsafe impl<C: ProducerContext + 'static> Sync for BatchProducer<C> where BaseProducer<C>: Sync {}

impl<C: ProducerContext + 'static> BatchProducer<C> {
    pub fn new(producer: BaseProducer<C>) -> Self {
        BatchProducer { topics: Vec::new(), messages: Vec::new(), producer }
    }

    /// Enqueues `records` for `topic`, in order, each to its partition. `results` (cleared
    /// first) gets one entry per record, in order: `Ok` when enqueued (its delivery report
    /// follows), or the error and the record's opaque. After a `QueueFull` every later record
    /// is `QueueFull` too, so sending again from the first of them keeps the order.
    ///
    /// Fails as a whole, before taking any record, when the topic name cannot be used
    /// (`InvalidTopic`: it holds a NUL byte) or librdkafka refuses a handle for it.
    pub fn send_batch<'a, I>(&mut self, topic: &str, records: I, results: &mut Vec<Result<(), (RDKafkaErrorCode, C::DeliveryOpaque)>>) -> Result<(), KafkaError>
    where
        I: IntoIterator<Item = BatchRecord<'a, C::DeliveryOpaque>>,
    {
        results.clear();
        let rkt = self.topic_handle(topic)?;
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            self.messages.clear();
            for r in records.by_ref().take(MAX_RECORDS_PER_CALL) {
                let (payload, len) = as_c_bytes(r.payload);
                let (key, key_len) = as_c_bytes(r.key);
                self.messages.push(rdsys::rd_kafka_message_t {
                    err: rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                    rkt: ptr::null_mut(),
                    partition: r.partition.unwrap_or(PARTITION_UNASSIGNED),
                    payload,
                    len,
                    key,
                    key_len,
                    offset: 0,
                    _private: r.opaque.into_ptr(),
                });
            }
            let count = c_int::try_from(self.messages.len()).unwrap_or(c_int::MAX);
            // SAFETY: `rkt` is a live handle of this producer; `messages` holds `count`
            // initialised entries whose key and payload pointers borrow slices that outlive
            // this call (librdkafka copies them: `RD_KAFKA_MSG_F_COPY`) and are never written
            // through. librdkafka writes only each entry's `err`.
            #[allow(unsafe_code)]
            unsafe {
                rdsys::rd_kafka_produce_batch(
                    rkt.as_ptr(),
                    PARTITION_UNASSIGNED,
                    rdsys::RD_KAFKA_MSG_F_COPY | rdsys::RD_KAFKA_MSG_F_PARTITION,
                    self.messages.as_mut_ptr(),
                    count,
                )
            };
            for m in self.messages.drain(..) {
                if m.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    results.push(Ok(()));
                } else {
                    // SAFETY: librdkafka did not take the record, so its opaque is still the
                    // one `into_ptr` made above, and this is its only reclaim.
                    #[allow(unsafe_code)]
                    let opaque = unsafe { C::DeliveryOpaque::from_ptr(m._private) };
                    results.push(Err((RDKafkaErrorCode::from(m.err), opaque)));
                }
            }
        }
        Ok(())
    }

    /// The handle of `topic`, made on first use; the most recently used is kept last.
    fn topic_handle(&mut self, topic: &str) -> Result<NonNull<rdsys::rd_kafka_topic_t>, KafkaError> {
        if let Some(last) = self.topics.last() {
            if &*last.name == topic {
                return Ok(last.rkt);
            }
        }
        if let Some(i) = self.topics.iter().position(|t| &*t.name == topic) {
            let handle = self.topics.remove(i);
            let rkt = handle.rkt;
            self.topics.push(handle);
            return Ok(rkt);
        }
        let name = CString::new(topic).map_err(|_| KafkaError::MessageProduction(RDKafkaErrorCode::InvalidTopic))?;
        // SAFETY: the producer's handle is live for `&self`; `name` is a valid C string for the
        // call; a null configuration takes the producer's default topic configuration, as
        // `rd_kafka_producev` does.
        #[allow(unsafe_code)]
        let rkt = unsafe { rdsys::rd_kafka_topic_new(self.producer.client().native_ptr(), name.as_ptr(), ptr::null_mut()) };
        let Some(rkt) = NonNull::new(rkt) else {
            // SAFETY: reads this thread's last librdkafka error; no pointers involved.
            #[allow(unsafe_code)]
            let code = unsafe { rdsys::rd_kafka_last_error() };
            return Err(KafkaError::MessageProduction(RDKafkaErrorCode::from(code)));
        };
        if self.topics.len() >= MAX_TOPIC_HANDLES {
            self.topics.remove(0);
        }
        self.topics.push(TopicHandle { name: topic.into(), rkt });
        Ok(rkt)
    }
}

/// A slice as librdkafka takes it, as rdkafka passes it: null for `None`.
fn as_c_bytes(bytes: Option<&[u8]>) -> (*mut c_void, usize) {
    match bytes {
        None => (ptr::null_mut(), 0),
        Some(b) => (b.as_ptr().cast_mut().cast(), b.len()),
    }
}

impl<C: ProducerContext + 'static> std::ops::Deref for BatchProducer<C> {
    type Target = BaseProducer<C>;
    fn deref(&self) -> &BaseProducer<C> {
        &self.producer
    }
}

impl<C: ProducerContext + 'static> Drop for BatchProducer<C> {
    fn drop(&mut self) {
        // Explicit, though field order already does it: the handles go before the producer.
        self.topics.clear();
    }
}
