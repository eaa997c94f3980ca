//! Twisted `DateTime` (placeholder, being written).
/// Placeholder.
pub fn utc_offset_minutes() {}
