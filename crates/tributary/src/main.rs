//! `tributary`: Kafka Connect's worker, in Rust.
//!
//! ```text
//! tributary standalone worker.properties connector1.properties|.json [connector2 ...]
//! tributary distributed worker.properties
//! ```

mod connector_files;
mod distributed;
mod logging;
mod standalone;

use std::process::ExitCode;

const USAGE: &str = "usage: tributary standalone worker.properties [connector1.properties|connector1.json ...]\n       tributary distributed worker.properties";

fn main() -> ExitCode {
    let loggers = std::sync::Arc::new(logging::init());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.first().map(String::as_str) {
        Some("standalone") if args.len() >= 2 => runtime.block_on(standalone::run(&args[1], &args[2..], loggers)),
        Some("distributed") if args.len() == 2 => runtime.block_on(distributed::run(&args[1], loggers)),
        Some("--version" | "-V") => {
            println!("tributary {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
