//! TODO: the broker (being written).
