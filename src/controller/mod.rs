//! TODO: the controller (being written).
