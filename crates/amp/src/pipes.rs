//! AMP over a pair of file descriptors (pipes, stdin/stdout).
