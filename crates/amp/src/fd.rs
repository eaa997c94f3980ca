//! Descriptor passing over UNIX sockets (SCM_RIGHTS).
