//! Running scripts (being written).
