//! Twisted `Float` (placeholder, being written).
