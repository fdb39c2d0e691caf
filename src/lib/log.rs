//! Module logs (being written).
