//! `tributary`: Kafka Connect's worker, in Rust.
//!
//! ```text
//! tributary standalone worker.properties connector1.properties|.json [connector2 ...]
//! tributary distributed worker.properties
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    tributary::main_with_plugins(tributary::builtin_plugins())
}
