//! Cuts bytes read from a file or stdin into one record per line, tracking the byte position
//! each line ends at (the source offset).

use std::borrow::Cow;
use std::sync::Arc;
use tributary_api::{OffsetMap, Schema, SchemaRef, SourceRecord, Value};

/// Settled batches kept to refill: one being refilled while the next waits.
const SPARE_BATCHES: usize = 2;

/// Read but not yet emitted bytes, and what a record of them carries.
#[derive(Default)]
pub(crate) struct Lines {
    /// Shared by every record (a copy per record was an allocation each).
    pub(crate) topic: Arc<str>,
    pub(crate) partition: Arc<OffsetMap>,
    /// Whether records carry offsets (a file; stdin has none).
    pub(crate) with_offsets: bool,
    pub(crate) batch_size: usize,
    /// Bytes consumed up to the end of the last emitted line.
    pub(crate) position: u64,
    /// Read but not yet emitted (an incomplete last line).
    pub(crate) buffer: Vec<u8>,
    /// Settled batches handed back by the runtime (`recycle`), refilled in place by the next
    /// lines: their strings are written over instead of allocated here and freed by the task's
    /// thread (a quarter of this thread's instructions went to malloc, callgrind).
    pub(crate) spare: Vec<Vec<SourceRecord>>,
}

impl Lines {
    /// Forgets what was read and starts over at `position`.
    pub(crate) fn restart_at(&mut self, position: u64) {
        self.position = position;
        self.buffer.clear();
    }

    /// Bytes consumed from the input: emitted lines plus the buffered rest.
    pub(crate) fn consumed(&self) -> u64 {
        self.position + self.buffer.len() as u64
    }

    /// Keeps a settled batch to refill (at most [`SPARE_BATCHES`]; more are dropped).
    pub(crate) fn recycle(&mut self, records: Vec<SourceRecord>) {
        if self.spare.len() < SPARE_BATCHES && !records.is_empty() {
            self.spare.push(records);
        }
    }

    /// Drops the batches kept to refill (the input is idle: no need to hold their memory).
    pub(crate) fn drop_spare(&mut self) {
        self.spare = Vec::new();
    }

    /// Cuts complete lines (ended by `\n`, `\r\n` or `\r`) off the buffer, up to `batch_size`.
    pub(crate) fn extract(&mut self) -> Vec<SourceRecord> {
        // A recycled batch is refilled record by record, in place; past its end, records are
        // built anew. A new batch has room for the lines the buffer likely holds (records are
        // large to move, and growing by doubling copies them), without reserving a whole batch
        // for a file that trickles: a 2,000-record reservation is half a megabyte, which glibc
        // serves by consolidating its free lists first (2% of the source path in a profile).
        let mut records = self.spare.pop().unwrap_or_else(|| Vec::with_capacity((self.buffer.len() / 96 + 1).min(self.batch_size)));
        let mut filled = 0usize;
        let mut consumed = 0usize;
        let value_schema = Schema::string();
        while filled < self.batch_size {
            let rest = &self.buffer[consumed..];
            // memchr compares a vector of bytes at a time; the iterator scan it replaces went
            // through a 100-byte line one byte at a time.
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else { break };
            let end = if rest[i] == b'\r' {
                match rest.get(i + 1) {
                    Some(b'\n') => i + 2,
                    Some(_) => i + 1,
                    // A trailing '\r' may be the first half of "\r\n": wait for more data.
                    None => break,
                }
            } else {
                i + 1
            };
            // Valid UTF-8 is the rule: std's validator is several times faster than the lossy
            // decoder's chunk walk (3% of the source path in a profile).
            let line = match std::str::from_utf8(&rest[..i]) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(&rest[..i]),
            };
            let offset = self.with_offsets.then(|| OffsetMap::single("position", Value::Int64((self.position + (consumed + end) as u64) as i64)));
            match records.get_mut(filled) {
                Some(record) => refill(record, &self.topic, &self.partition, &value_schema, &line, offset),
                None => {
                    // No timestamp of its own: the producer stamps the record when it sends it
                    // (Kafka's FileStreamSource stamps it when read, a few milliseconds
                    // earlier); records without one go to librdkafka in one call per batch.
                    records.push(SourceRecord::new(
                        self.partition.clone(),
                        offset,
                        self.topic.clone(),
                        Some(value_schema.clone()),
                        Value::String(line.into_owned()),
                    ));
                }
            }
            filled += 1;
            consumed += end;
        }
        if filled == 0 && !records.is_empty() {
            // Nothing to refill it with yet: kept for the next lines.
            self.spare.push(records);
            return Vec::new();
        }
        records.truncate(filled);
        self.buffer.drain(..consumed);
        self.position += consumed as u64;
        records
    }
}

/// Makes a settled record the record of `line`, as [`SourceRecord::new`] would build it, keeping
/// its allocations: the string is written over ([`SourceRecord::reset`] resets the rest).
fn refill(record: &mut SourceRecord, topic: &Arc<str>, partition: &Arc<OffsetMap>, schema: &SchemaRef, line: &str, offset: Option<OffsetMap>) {
    match record.reset(partition, offset, topic, Some(schema)) {
        Value::String(s) => {
            s.clear();
            s.push_str(line);
        }
        other => *other = Value::String(line.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(batch_size: usize) -> Lines {
        Lines {
            topic: "t".into(),
            partition: Arc::new(OffsetMap::single("filename", Value::String("f".into()))),
            with_offsets: true,
            batch_size,
            ..Lines::default()
        }
    }

    #[test]
    fn a_recycled_batch_is_refilled_into_exactly_the_records_a_new_one_gets() {
        let input = b"first\nsecond line\r\nthird, longer than any line before it\n\xffx\n";
        let mut fresh = lines(10);
        fresh.buffer.extend_from_slice(input);
        let expected = fresh.extract();
        assert_eq!(expected.len(), 4);
        assert_eq!(expected[3].value, Value::String("\u{fffd}x".into()));

        // Settled records as the runtime hands them back: offsets taken, and everything a
        // converter or a task may have changed changed. One record more than the lines: the
        // extra one goes.
        let mut used = lines(10);
        used.buffer.extend_from_slice(b"0\n1\n2\n3\n4\n");
        let mut spent = used.extract();
        let other_topic: Arc<str> = "other".into();
        for r in &mut spent {
            r.meta.source_offset = None;
            r.headers.add("added", None, Value::Int32(1));
            r.key = Value::String("k".into());
            r.key_schema = Some(Schema::string());
            r.kafka_partition = Some(3);
            r.timestamp = Some(1_700_000_000_000);
            r.topic = other_topic.clone();
            r.meta.source_partition = Arc::new(OffsetMap::single("filename", Value::String("g".into())));
        }
        spent[1].value = Value::Int64(7);
        spent[2].value_schema = None;
        let mut refilled = lines(10);
        refilled.recycle(spent);
        refilled.buffer.extend_from_slice(input);
        let got = refilled.extract();
        assert_eq!(got, expected);
        assert!(got.iter().all(|r| r.timestamp.is_none()));
        assert!(refilled.spare.is_empty());
        assert_eq!(refilled.position, input.len() as u64);
    }

    #[test]
    fn a_recycled_batch_waits_for_lines_and_at_most_two_are_kept() {
        let mut l = lines(10);
        l.buffer.extend_from_slice(b"a\nb\n");
        let batch = l.extract();
        l.recycle(batch.clone());
        // No complete line: the spare batch stays for the next lines.
        l.buffer.extend_from_slice(b"partial");
        assert!(l.extract().is_empty());
        assert_eq!(l.spare.len(), 1);
        l.recycle(batch.clone());
        l.recycle(batch);
        assert_eq!(l.spare.len(), SPARE_BATCHES);
        l.buffer.extend_from_slice(b" line\n");
        assert_eq!(l.extract().iter().map(|r| r.value.to_string()).collect::<Vec<_>>(), vec!["partial line"]);
        l.drop_spare();
        assert!(l.spare.is_empty());
    }
}
