//! TODO: update_metadata messages (being written).
