//! TODO: list_offsets messages (being written).
