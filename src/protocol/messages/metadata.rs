//! TODO: metadata messages (being written).
