//! TODO: the segment-file log store (being written).
