//! Kafka Connect's group sub-protocols (`ConnectProtocol`, `IncrementalCooperativeConnectProtocol`):
//! the member metadata a worker sends in JoinGroup and the assignment it gets in SyncGroup, byte
//! for byte, so Tributary workers can share a group with JVM workers.
//!
//! Classic Kafka protocol types: big-endian integers, `string` = int16 length + UTF-8,
//! `nullable_bytes` = int32 length (-1 = null), `array` = int32 count (-1 = null) + elements.

/// The task id that stands for the connector instance itself in an assignment.
pub const CONNECTOR_TASK: i32 = -1;

/// Assignment error codes.
pub const NO_ERROR: i16 = 0;
pub const CONFIG_MISMATCH: i16 = 1;

/// The sub-protocols, by their JoinGroup protocol names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// `default`: eager rebalancing, version 0.
    Eager,
    /// `compatible`: incremental cooperative, version 1.
    Compatible,
    /// `sessioned`: incremental cooperative with signed internal requests, version 2.
    Sessioned,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Eager => "default",
            Protocol::Compatible => "compatible",
            Protocol::Sessioned => "sessioned",
        }
    }

    pub fn version(self) -> i16 {
        match self {
            Protocol::Eager => 0,
            Protocol::Compatible => 1,
            Protocol::Sessioned => 2,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Protocol::Eager, Protocol::Compatible, Protocol::Sessioned].into_iter().find(|p| p.name() == name)
    }

    /// What a worker offers in JoinGroup for its `connect.protocol` setting, in preference order.
    pub fn offered(setting: Protocol) -> &'static [Protocol] {
        match setting {
            Protocol::Sessioned => &[Protocol::Sessioned, Protocol::Compatible, Protocol::Eager],
            Protocol::Compatible => &[Protocol::Compatible, Protocol::Eager],
            Protocol::Eager => &[Protocol::Eager],
        }
    }
}

/// A malformed metadata or assignment; the message says what was being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Connect protocol: truncated while reading {0}")]
    Truncated(&'static str),
    #[error("Connect protocol: negative version {0}")]
    NegativeVersion(i16),
    #[error("Connect protocol: {0} is not valid UTF-8")]
    BadUtf8(&'static str),
    #[error("Connect protocol: negative length {1} for {0}")]
    NegativeLength(&'static str, i64),
}

/// The connectors and tasks given to (or taken from) one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorAssignment {
    pub connector: String,
    /// Task ids; [`CONNECTOR_TASK`] is the connector instance.
    pub tasks: Vec<i32>,
}

/// SyncGroup's member assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub version: i16,
    pub error: i16,
    pub leader: String,
    pub leader_url: String,
    pub config_offset: i64,
    /// Version 0: the whole assignment; versions 1 and 2: what is newly assigned.
    pub assigned: Option<Vec<ConnectorAssignment>>,
    /// Versions 1 and 2: what the worker must stop.
    pub revoked: Option<Vec<ConnectorAssignment>>,
    /// Versions 1 and 2: milliseconds until a scheduled follow-up rebalance (0: none).
    pub delay_ms: i32,
}

/// JoinGroup's member metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    pub version: i16,
    /// The worker's advertised REST URL.
    pub url: String,
    /// The worker's position in the config topic.
    pub config_offset: i64,
    /// Versions 1 and 2: what the worker runs now (`None`: nothing yet).
    pub current_assignment: Option<Assignment>,
}

struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn string(&mut self, s: &str) {
        // Names and URLs are far below i16::MAX bytes; a longer one is cut rather than
        // written with a wrapped length.
        let bytes = &s.as_bytes()[..s.len().min(i16::MAX as usize)];
        self.i16(bytes.len() as i16);
        self.0.extend_from_slice(bytes);
    }
    fn assignments(&mut self, list: Option<&[ConnectorAssignment]>) {
        match list {
            None => self.i32(-1),
            Some(list) => {
                self.i32(list.len() as i32);
                for a in list {
                    self.string(&a.connector);
                    self.i32(a.tasks.len() as i32);
                    for t in &a.tasks {
                        self.i32(*t);
                    }
                }
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], ProtocolError> {
        if self.0.len() < n {
            return Err(ProtocolError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self, what: &'static str) -> Result<i16, ProtocolError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, ProtocolError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self, what: &'static str) -> Result<i64, ProtocolError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn string(&mut self, what: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(what)?;
        if len < 0 {
            return Err(ProtocolError::NegativeLength(what, i64::from(len)));
        }
        let b = self.take(len as usize, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::BadUtf8(what))
    }
    fn count(&mut self, what: &'static str) -> Result<Option<usize>, ProtocolError> {
        match self.i32(what)? {
            -1 => Ok(None),
            n if n < 0 => Err(ProtocolError::NegativeLength(what, i64::from(n))),
            // Each element takes at least 4 bytes: a count beyond what is left is a lie, and
            // must not size an allocation.
            n if (n as usize) > self.0.len() / 4 + 1 => Err(ProtocolError::Truncated(what)),
            n => Ok(Some(n as usize)),
        }
    }
    fn assignments(&mut self, what: &'static str) -> Result<Option<Vec<ConnectorAssignment>>, ProtocolError> {
        let Some(n) = self.count(what)? else { return Ok(None) };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let connector = self.string("connector name")?;
            let tasks = match self.count("task ids")? {
                None => Vec::new(),
                Some(t) => (0..t).map(|_| self.i32("task id")).collect::<Result<_, _>>()?,
            };
            out.push(ConnectorAssignment { connector, tasks });
        }
        Ok(Some(out))
    }
}

impl Assignment {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.i16(self.version);
        w.i16(self.error);
        w.string(&self.leader);
        w.string(&self.leader_url);
        w.i64(self.config_offset);
        if self.version == 0 {
            w.assignments(Some(self.assigned.as_deref().unwrap_or_default()));
        } else {
            // The leader always writes both arrays, empty rather than null.
            w.assignments(Some(self.assigned.as_deref().unwrap_or_default()));
            w.assignments(Some(self.revoked.as_deref().unwrap_or_default()));
            w.i32(self.delay_ms);
        }
        w.0
    }

    /// Decodes any version as Kafka's members do (with the version 1 reader): a version 0
    /// assignment reads as one with nothing revoked and no delay; later versions as version 2.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader(bytes);
        let version = r.i16("assignment version")?;
        if version < 0 {
            return Err(ProtocolError::NegativeVersion(version));
        }
        let error = r.i16("assignment error")?;
        let leader = r.string("leader")?;
        let leader_url = r.string("leader url")?;
        let config_offset = r.i64("assignment config offset")?;
        let assigned = r.assignments("assignment")?;
        let (revoked, delay_ms) = if r.0.is_empty() { (None, 0) } else { (r.assignments("revoked")?, if r.0.is_empty() { 0 } else { r.i32("delay")? }) };
        Ok(Self { version, error, leader, leader_url, config_offset, assigned, revoked, delay_ms })
    }
}

impl WorkerMetadata {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.i16(self.version);
        w.string(&self.url);
        w.i64(self.config_offset);
        if self.version >= 1 {
            match &self.current_assignment {
                None => w.i32(-1),
                Some(a) => {
                    let bytes = a.encode();
                    w.i32(bytes.len() as i32);
                    w.0.extend_from_slice(&bytes);
                }
            }
        }
        w.0
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader(bytes);
        let version = r.i16("metadata version")?;
        if version < 0 {
            return Err(ProtocolError::NegativeVersion(version));
        }
        let url = r.string("worker url")?;
        let config_offset = r.i64("metadata config offset")?;
        let current_assignment = if version == 0 || r.0.is_empty() {
            None
        } else {
            match r.i32("current assignment length")? {
                -1 => None,
                n if n < 0 => return Err(ProtocolError::NegativeLength("current assignment", i64::from(n))),
                n => Some(Assignment::decode(r.take(n as usize, "current assignment")?)?),
            }
        };
        Ok(Self { version, url, config_offset, current_assignment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        // "00 0f" hex bytes, with "quoted text" standing for its UTF-8 bytes.
        let mut out = Vec::new();
        for (i, part) in s.split('"').enumerate() {
            if i % 2 == 1 {
                out.extend_from_slice(part.as_bytes());
            } else {
                out.extend(part.split_whitespace().filter(|t| *t != "|").map(|b| u8::from_str_radix(b, 16).expect("hex")));
            }
        }
        out
    }

    const URL: &str = "http://w1:8083/";

    #[test]
    fn byte_layouts_match_the_documented_examples() {
        let v0 = WorkerMetadata { version: 0, url: URL.into(), config_offset: 5, current_assignment: None };
        assert_eq!(v0.encode(), hex(r#"00 00 | 00 0f "http://w1:8083/" | 00 00 00 00 00 00 00 05"#));
        let v1 = WorkerMetadata { version: 1, ..v0.clone() };
        assert_eq!(v1.encode(), hex(r#"00 01 | 00 0f "http://w1:8083/" | 00 00 00 00 00 00 00 05 | ff ff ff ff"#));
        let a = Assignment {
            version: 1,
            error: NO_ERROR,
            leader: "m1".into(),
            leader_url: URL.into(),
            config_offset: 5,
            assigned: Some(vec![ConnectorAssignment { connector: "c".into(), tasks: vec![CONNECTOR_TASK, 0] }]),
            revoked: Some(vec![]),
            delay_ms: 0,
        };
        let expected = hex(r#"00 01 | 00 00 | 00 02 "m1" | 00 0f "http://w1:8083/" | 00 00 00 00 00 00 00 05
               | 00 00 00 01 | 00 01 "c" | 00 00 00 02 | ff ff ff ff | 00 00 00 00
               | 00 00 00 00 | 00 00 00 00"#);
        assert_eq!(a.encode(), expected);
        assert_eq!(Assignment::decode(&expected), Ok(a));
        assert_eq!(WorkerMetadata::decode(&v0.encode()), Ok(v0));
    }

    #[test]
    fn a_version_0_assignment_reads_with_nothing_revoked() {
        let v0 = Assignment {
            version: 0,
            error: CONFIG_MISMATCH,
            leader: "m1".into(),
            leader_url: URL.into(),
            config_offset: 9,
            assigned: Some(vec![]),
            revoked: None,
            delay_ms: 0,
        };
        assert_eq!(Assignment::decode(&v0.encode()), Ok(v0));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(Assignment::decode(&[0xff, 0xff]), Err(ProtocolError::NegativeVersion(-1)));
        assert_eq!(Assignment::decode(&[0, 1, 0]), Err(ProtocolError::Truncated("assignment error")));
        // A count far beyond the bytes present is refused before allocating.
        let lie = hex(r#"00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 7f ff ff ff"#);
        assert_eq!(Assignment::decode(&lie), Err(ProtocolError::Truncated("assignment")));
    }

    #[test]
    fn protocol_names_and_preferences() {
        assert_eq!(Protocol::from_name("sessioned"), Some(Protocol::Sessioned));
        assert_eq!(Protocol::offered(Protocol::Compatible).iter().map(|p| p.name()).collect::<Vec<_>>(), ["compatible", "default"]);
        assert_eq!(Protocol::Sessioned.version(), 2);
    }

    fn assignment_strategy() -> impl Strategy<Value = Assignment> {
        let ca = ("[a-z0-9-]{1,12}", proptest::collection::vec(-1i32..64, 0..5)).prop_map(|(connector, tasks)| ConnectorAssignment { connector, tasks });
        let list = proptest::collection::vec(ca, 0..4);
        (1i16..=2, 0i16..=1, "[a-z0-9-]{0,20}", "[ -~]{0,30}", any::<i64>(), list.clone(), list, 0i32..100_000).prop_map(
            |(version, error, leader, leader_url, config_offset, assigned, revoked, delay_ms)| Assignment {
                version,
                error,
                leader,
                leader_url,
                config_offset,
                assigned: Some(assigned),
                revoked: Some(revoked),
                delay_ms,
            },
        )
    }

    proptest! {
        #[test]
        fn assignments_and_metadata_round_trip(a in assignment_strategy(), url in "[ -~]{0,40}", offset in any::<i64>(), with in any::<bool>()) {
            prop_assert_eq!(Assignment::decode(&a.encode()), Ok(a.clone()));
            let m = WorkerMetadata { version: a.version, url, config_offset: offset, current_assignment: with.then_some(a) };
            prop_assert_eq!(WorkerMetadata::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Assignment::decode(&bytes);
            let _ = WorkerMetadata::decode(&bytes);
        }
    }
}
