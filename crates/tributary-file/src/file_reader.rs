//! The file source's reader: a thread that reads the file and cuts it into batches of records
//! one or two batches ahead of `poll`. Reading and building records was 15% of the task
//! thread, which also converts and produces every record; on a thread of its own it overlaps
//! with producing (BENCHMARKS.md).

use crate::lines::Lines;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tributary_api::{ConnectError, Result, SourceRecord};

/// Read size: large enough that the read syscall is not the bottleneck at 100-byte lines.
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// Batches read ahead of `poll` (each at most `batch.size` records): the memory bound.
const READ_AHEAD: usize = 2;
/// Settled batches waiting for the thread to refill their records; more are dropped.
const RECYCLED: usize = 8;

/// The receiving end, held by the task; dropping it stops the thread.
pub(crate) struct FileReader {
    pub(crate) batches: mpsc::Receiver<Result<Vec<SourceRecord>>>,
    recycled: std::sync::mpsc::SyncSender<Vec<SourceRecord>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FileReader {
    fn drop(&mut self) {
        // Wakes the thread out of its idle naps; a send in progress fails as the receiver goes.
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl FileReader {
    /// Hands settled records to the thread, to refill with the next lines (dropped here when
    /// it has enough already).
    pub(crate) fn recycle(&self, records: Vec<SourceRecord>) {
        let _ = self.recycled.try_send(records);
    }

    /// Starts reading `name` from `lines.position`, with `idle` between looks at a file that
    /// has no new complete line.
    pub(crate) fn start(name: String, lines: Lines, idle: Duration) -> Result<FileReader> {
        let (tx, batches) = mpsc::channel(READ_AHEAD);
        let (recycled, spent) = std::sync::mpsc::sync_channel(RECYCLED);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("file-source".into())
            .spawn(move || Reading { name, lines, file: None, tx, spent, stop: flag, idle }.run())
            .map_err(|e| ConnectError::fatal("cannot start the file source's reader").with_source(e))?;
        Ok(FileReader { batches, recycled, stop })
    }
}

/// The open file and its identity (device, inode), which detects replacement.
type Open = (File, Option<(u64, u64)>);

struct Reading {
    name: String,
    lines: Lines,
    file: Option<Open>,
    tx: mpsc::Sender<Result<Vec<SourceRecord>>>,
    /// Settled batches from the task ([`FileReader::recycle`]).
    spent: std::sync::mpsc::Receiver<Vec<SourceRecord>>,
    stop: Arc<AtomicBool>,
    idle: Duration,
}

impl Reading {
    fn run(mut self) {
        while !self.stop.load(Ordering::Relaxed) {
            if self.file.is_none() {
                match self.open() {
                    Ok(Some(open)) => self.file = Some(open),
                    Ok(None) => self.nap(Duration::from_secs(1)),
                    Err(e) => {
                        let _ = self.tx.blocking_send(Err(e));
                        return;
                    }
                }
                continue;
            }
            // One settled batch at a time, taken when needed: the rest wait in the channel.
            if self.lines.spare.is_empty() {
                if let Ok(records) = self.spent.try_recv() {
                    self.lines.recycle(records);
                }
            }
            let records = self.lines.extract();
            if !records.is_empty() {
                // Blocks while READ_AHEAD batches wait; fails once the task dropped its end.
                if self.tx.blocking_send(Ok(records)).is_err() {
                    return;
                }
                continue;
            }
            match self.read_more() {
                Ok(true) => {}
                Ok(false) => {
                    if !self.check_replaced() {
                        self.nap(self.idle);
                    }
                }
                Err(e) => {
                    // Retriable: the task logs it and polls again; reading resumes after a nap.
                    if self.tx.blocking_send(Err(e)).is_err() {
                        return;
                    }
                    self.nap(self.idle);
                }
            }
        }
    }

    /// Sleeps, waking early when the task stops. Idle, the thread keeps no records to refill.
    fn nap(&mut self, total: Duration) {
        while self.spent.try_recv().is_ok() {}
        self.lines.drop_spare();
        let step = Duration::from_millis(20);
        let mut slept = Duration::ZERO;
        while slept < total && !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(step.min(total - slept));
            slept += step;
        }
    }

    /// Opens the file at the current position; `None` while it does not exist.
    fn open(&mut self) -> Result<Option<Open>> {
        let name = &self.name;
        let mut file = match File::open(name) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %name, "couldn't find file for FileStreamSourceTask, sleeping to wait for it to be created");
                return Ok(None);
            }
            Err(e) => return Err(ConnectError::fatal(format!("error opening file {name}")).with_source(e)),
        };
        let meta = file.metadata().map_err(|e| ConnectError::fatal(format!("cannot stat {name}")).with_source(e))?;
        if meta.len() < self.lines.position {
            tracing::warn!(file = %name, position = self.lines.position, length = meta.len(), "file is shorter than the committed position: it was truncated or replaced, reading it from the start");
            self.lines.position = 0;
        }
        file.seek(SeekFrom::Start(self.lines.position)).map_err(|e| ConnectError::fatal(format!("cannot seek in {name}")).with_source(e))?;
        self.lines.buffer.clear();
        Ok(Some((file, file_identity(&meta))))
    }

    /// Reads what is available; false when there was nothing new.
    fn read_more(&mut self) -> Result<bool> {
        let Some((file, _)) = &mut self.file else { return Ok(false) };
        let buffer = &mut self.lines.buffer;
        let start = buffer.len();
        buffer.resize(start + READ_CHUNK, 0);
        match file.read(&mut buffer[start..]) {
            Ok(n) => {
                buffer.truncate(start + n);
                Ok(n > 0)
            }
            Err(e) => {
                buffer.truncate(start);
                Err(ConnectError::retriable("error reading the source file").with_source(e))
            }
        }
    }

    /// Starts over from the beginning when the file was truncated below what was read or
    /// replaced by another file under the same name, as Kafka's task does when it reopens.
    fn check_replaced(&mut self) -> bool {
        let (name, Some((_, identity))) = (&self.name, &self.file) else { return false };
        let Ok(meta) = std::fs::metadata(name) else { return false };
        let replaced = file_identity(&meta) != *identity;
        if meta.len() < self.lines.consumed() || replaced {
            tracing::warn!(file = %name, position = self.lines.position, length = meta.len(), replaced, "source file was truncated or replaced; starting over from the beginning");
            self.lines.restart_at(0);
            self.file = None;
            return true;
        }
        false
    }
}

fn file_identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}
