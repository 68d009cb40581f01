//! TODO: fetch messages (being written).
