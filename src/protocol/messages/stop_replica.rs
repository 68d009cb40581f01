//! TODO: stop_replica messages (being written).
