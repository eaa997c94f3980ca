//! Deterministic, table-driven tests of the session: phase × event →
//! phase + actions. No clock, no I/O, no scheduler.
