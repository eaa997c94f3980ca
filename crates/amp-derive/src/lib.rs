//! Derive macros (being written).
