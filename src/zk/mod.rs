//! TODO: ZooKeeper access (being written).
