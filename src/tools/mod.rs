//! The command-line tools, one file each, with Kafka 2.8's flags and output
//! formats. Maps to Kafka's `kafka.admin.*Command` and `kafka.tools.*`.

pub mod console_consumer;
pub mod consumer_groups;
pub mod console_producer;
pub mod dump_log;
pub mod reassign_partitions;
pub mod topics;

/// Parses a tool's arguments; on a usage error (or `--help`) prints clap's
/// message and returns the exit code to use (1 for errors, 0 for help).
pub fn parse_args<T: clap::Parser>(args: &[String]) -> Result<T, i32> {
    T::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            1
        } else {
            0
        }
    })
}

/// A single-threaded tokio runtime for a tool, or the exit code 1 (with the
/// reason printed) if one cannot be had.
pub fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        eprintln!("cannot start the async runtime: {e}");
        1
    })
}
