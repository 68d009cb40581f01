//! `kafka-reassign-partitions`: moves partition replicas between brokers
//! (and log directories), with Kafka 2.8's flags, JSON and output. Maps to
//! Kafka's `kafka.admin.ReassignPartitionsCommand`.

pub mod json;
pub mod planner;
