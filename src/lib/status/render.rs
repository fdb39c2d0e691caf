//! Renderers of the status snapshot (being written).
