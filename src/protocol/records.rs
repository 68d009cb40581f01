//! TODO: record batch format (being written).
