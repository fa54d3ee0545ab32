//! Logging: tracing to stderr, with levels changeable at run time through `/admin/loggers`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};
use tributary_runtime::loggers::{tracing_level, LoggerControl, LoggerError, LoggerLevel};

/// The embedded broker is chatty at info; its warnings and errors still show.
const QUIET: &str = "tansu_broker=warn,tansu_storage=warn,tansu_sans_io=warn,tansu_schema=warn,tansu_service=warn,libsql=warn";

pub struct Loggers {
    handle: reload::Handle<EnvFilter, Registry>,
    /// `TRIBUTARY_LOG`, when set, is the starting filter.
    base: Option<String>,
    /// Levels set through the API, `root` included: (Kafka level name, when).
    levels: Mutex<BTreeMap<String, (String, i64)>>,
}

fn filter_text(base: &Option<String>, levels: &BTreeMap<String, (String, i64)>) -> String {
    let root = levels.get("root").and_then(|(l, _)| tracing_level(l)).unwrap_or("info");
    let mut text = match base {
        Some(b) if !levels.contains_key("root") => b.clone(),
        _ => format!("{root},{QUIET}"),
    };
    for (logger, (level, _)) in levels.iter().filter(|(k, _)| k.as_str() != "root") {
        if let Some(l) = tracing_level(level) {
            text.push_str(&format!(",{logger}={l}"));
        }
    }
    text
}

/// Installs the subscriber and returns the handle `/admin/loggers` uses.
pub fn init() -> Loggers {
    let base = std::env::var("TRIBUTARY_LOG").ok();
    let text = filter_text(&base, &BTreeMap::new());
    let (layer, handle) = reload::Layer::new(EnvFilter::try_new(&text).unwrap_or_else(|_| EnvFilter::new(format!("info,{QUIET}"))));
    tracing_subscriber::registry().with(layer).with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).init();
    Loggers { handle, base, levels: Mutex::new(BTreeMap::new()) }
}

impl LoggerControl for Loggers {
    fn loggers(&self) -> BTreeMap<String, LoggerLevel> {
        let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: BTreeMap<String, LoggerLevel> =
            levels.iter().map(|(k, (l, t))| (k.clone(), LoggerLevel { level: l.clone(), last_modified: Some(*t) })).collect();
        out.entry("root".into()).or_insert(LoggerLevel { level: "INFO".into(), last_modified: None });
        out
    }

    fn set_level(&self, logger: &str, level: &str) -> Result<Vec<String>, LoggerError> {
        if tracing_level(level).is_none() {
            return Err(LoggerError::InvalidLevel(level.to_owned()));
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.insert(logger.to_owned(), (level.to_ascii_uppercase(), now));
        let filter = EnvFilter::try_new(filter_text(&self.base, &levels)).map_err(|e| LoggerError::Failed(format!("invalid logger name {logger}: {e}")))?;
        self.handle.reload(filter).map_err(|e| LoggerError::Failed(e.to_string()))?;
        Ok(vec![logger.to_owned()])
    }
}
