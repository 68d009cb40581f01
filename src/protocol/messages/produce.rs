//! TODO: produce messages (being written).
