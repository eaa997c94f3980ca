//! Twisted `Descriptor`: a file descriptor named on the wire by an ordinal.

use bytes::{Bytes, BytesMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::{Argument, Context};
use crate::error::{DecodeError, EncodeError};

/// The connection side of descriptor passing (spec §3): descriptors travel
/// beside the bytes (SCM_RIGHTS on a UNIX socket); each side numbers the
/// descriptors it sends, and those it receives, from 0 in order, and the
/// value written in the box is that ordinal.
///
/// The runtime provides the implementation; this trait is what
/// [`Descriptor`] needs from it.
pub trait Descriptors {
    /// Queue a duplicate of `fd` to travel with the next write; return its
    /// ordinal.
    fn send(&mut self, fd: BorrowedFd<'_>) -> Result<u64, EncodeError>;
    /// Take the descriptor received with ordinal `ordinal`.
    fn receive(&mut self, ordinal: u64) -> Result<OwnedFd, DecodeError>;
}

/// A file descriptor argument (Twisted `Descriptor`).
///
/// Sending duplicates the descriptor, so the sender keeps its own; the
/// receiver gets a new descriptor for the same open file.
#[derive(Debug)]
pub struct Descriptor(pub OwnedFd);

impl From<OwnedFd> for Descriptor {
    fn from(fd: OwnedFd) -> Self {
        Descriptor(fd)
    }
}

impl From<Descriptor> for OwnedFd {
    fn from(d: Descriptor) -> Self {
        d.0
    }
}

impl AsFd for Descriptor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Argument for Descriptor {
    fn amp_type() -> crate::describe::AmpType {
        crate::describe::AmpType::Descriptor
    }

    fn encode(&self, out: &mut BytesMut, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let d = cx.descriptors().ok_or_else(|| {
            EncodeError::invalid("Descriptor arguments need a UNIX-socket connection")
        })?;
        let ordinal = d.send(self.0.as_fd())?;
        ordinal.encode(out, &mut Context::none())
    }
    fn decode(raw: Bytes, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        let ordinal = u64::decode(raw, &mut Context::none())?;
        let d = cx.descriptors().ok_or_else(|| {
            DecodeError::invalid("Descriptor arguments need a UNIX-socket connection")
        })?;
        d.receive(ordinal).map(Descriptor)
    }
}
