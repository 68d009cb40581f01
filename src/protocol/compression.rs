//! TODO: compression codecs (being written).
