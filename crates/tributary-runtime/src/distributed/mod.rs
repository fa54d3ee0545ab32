//! Distributed mode, in progress: the pieces land here one at a time, tested on their own,
//! and no command uses them until the mode works end to end.

pub mod connect_protocol;
pub mod records;
