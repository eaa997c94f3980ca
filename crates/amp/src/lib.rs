//! amp (being written).
