//! TODO: controlled_shutdown messages (being written).
