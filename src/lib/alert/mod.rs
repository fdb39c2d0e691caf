//! Alerts: catalog and alert log (being written).
