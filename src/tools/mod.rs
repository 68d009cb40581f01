//! The command-line tools, one file each, with Kafka 2.8's flags and output
//! formats. Maps to Kafka's `kafka.admin.*Command` and `kafka.tools.*`.

pub mod console_consumer;
pub mod consumer_groups;
pub mod console_producer;
pub mod dump_log;
pub mod topics;
