//! TODO: create_topics messages (being written).
