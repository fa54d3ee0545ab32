//! `tributary`: Kafka Connect's worker, in Rust.
//!
//! ```text
//! tributary standalone worker.properties connector1.properties|.json [connector2 ...]
//! ```

mod connector_files;
mod standalone;

use std::process::ExitCode;

const USAGE: &str = "usage: tributary standalone worker.properties [connector1.properties|connector1.json ...]";

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.first().map(String::as_str) {
        Some("standalone") if args.len() >= 2 => runtime.block_on(standalone::run(&args[1], &args[2..])),
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

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    // The embedded broker is chatty at info; its warnings and errors still show.
    let default = "info,tansu_broker=warn,tansu_storage=warn,tansu_sans_io=warn,tansu_schema=warn,tansu_service=warn,libsql=warn";
    let filter = EnvFilter::try_from_env("TRIBUTARY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
