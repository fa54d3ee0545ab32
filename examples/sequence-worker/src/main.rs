//! A worker with the example connectors: tributary's command line, with the built-in plugins
//! and `tributary-example-sequence`'s two. It takes `tributary`'s arguments:
//!
//! ```text
//! sequence-worker standalone config/worker.properties config/sequence-source.properties config/record-log-sink.properties
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    tributary::main_with_plugins(tributary::builtin_plugins().with(tributary_example_sequence::plugins()))
}
