//! The `tributary` command as a library, so that a program can run the worker with plugins of
//! its own: the embedding path for connectors that live outside this repository.
//!
//! ```ignore
//! // (compiled and tested as examples/sequence-worker)
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     // The built-in plugins, plus your own crate's `PluginSet`.
//!     tributary::main_with_plugins(tributary::builtin_plugins().with(my_connector::plugins()))
//! }
//! ```
//!
//! The program then takes the same arguments as `tributary` itself:
//!
//! ```text
//! my-worker standalone worker.properties connector1.properties|.json [connector2 ...]
//! my-worker distributed worker.properties
//! ```

mod connector_files;
mod distributed;
mod logging;
mod standalone;

use std::process::ExitCode;

pub use tributary_api::PluginSet;
pub use tributary_runtime::plugins::Plugins;

/// The registry of the plugins this build ships with (`tributary-plugins`, every family).
pub fn builtin_plugins() -> Plugins {
    Plugins::new(tributary_plugins::builtin())
}

const USAGE: &str = "usage: tributary standalone worker.properties [connector1.properties|connector1.json ...]\n       tributary distributed worker.properties";

/// Runs the command line (`std::env::args`) with `plugins`: what the `tributary` binary does
/// with [`builtin_plugins`]. Returns the process's exit code.
pub fn main_with_plugins(plugins: Plugins) -> ExitCode {
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
        Some("standalone") if args.len() >= 2 => runtime.block_on(standalone::run(&args[1], &args[2..], plugins, loggers)),
        Some("distributed") if args.len() == 2 => runtime.block_on(distributed::run(&args[1], plugins, loggers)),
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
