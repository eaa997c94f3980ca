//! Twisted `Decimal` (placeholder, being written).
/// Placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal;
