//! TODO: leader_and_isr messages (being written).
