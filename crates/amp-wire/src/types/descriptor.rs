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
///
/// ```
/// use amp_wire::{Argument, Context, DecodeError, Descriptor, Descriptors, EncodeError};
/// use std::os::fd::{BorrowedFd, OwnedFd};
///
/// /// Hands back what it sent: a stand-in for the two ends of a UNIX socket.
/// #[derive(Default)]
/// struct Loopback(Vec<Option<OwnedFd>>);
///
/// impl Descriptors for Loopback {
///     fn send(&mut self, fd: BorrowedFd<'_>) -> Result<u64, EncodeError> {
///         let copy = fd.try_clone_to_owned().map_err(|e| EncodeError::invalid(e.to_string()))?;
///         self.0.push(Some(copy));
///         Ok(self.0.len() as u64 - 1)
///     }
///     fn receive(&mut self, ordinal: u64) -> Result<OwnedFd, DecodeError> {
///         let slot = self.0.get_mut(ordinal as usize).and_then(Option::take);
///         slot.ok_or_else(|| DecodeError::invalid(format!("no descriptor {ordinal}")))
///     }
/// }
///
/// let mut channel = Loopback::default();
/// let mut cx = Context::with_descriptors(&mut channel);
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let mut out = bytes::BytesMut::new();
/// Descriptor(file.into()).encode(&mut out, &mut cx).unwrap();
/// assert_eq!(&out[..], b"0"); // the first descriptor sent
/// assert!(Descriptor::decode(out.freeze(), &mut cx).is_ok());
/// assert!(Descriptor::decode("0".into(), &mut cx).is_err()); // taken already
/// ```
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
///
/// ```
/// use amp_wire::{Argument, Context, Descriptor};
/// use std::os::unix::fs::MetadataExt;
/// # use amp_wire::{DecodeError, Descriptors, EncodeError};
/// # use std::os::fd::{BorrowedFd, OwnedFd};
/// #
/// # /// Hands back what it sent: a stand-in for the two ends of a UNIX socket.
/// # #[derive(Default)]
/// # struct Loopback(Vec<Option<OwnedFd>>);
/// #
/// # impl Descriptors for Loopback {
/// #     fn send(&mut self, fd: BorrowedFd<'_>) -> Result<u64, EncodeError> {
/// #         let copy = fd.try_clone_to_owned().map_err(|e| EncodeError::invalid(e.to_string()))?;
/// #         self.0.push(Some(copy));
/// #         Ok(self.0.len() as u64 - 1)
/// #     }
/// #     fn receive(&mut self, ordinal: u64) -> Result<OwnedFd, DecodeError> {
/// #         let slot = self.0.get_mut(ordinal as usize).and_then(Option::take);
/// #         slot.ok_or_else(|| DecodeError::invalid(format!("no descriptor {ordinal}")))
/// #     }
/// # }
///
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let mut channel = Loopback::default(); // the `Descriptors` example's channel
/// let mut cx = Context::with_descriptors(&mut channel);
/// let mut wire = bytes::BytesMut::new();
/// Descriptor(file.try_clone().unwrap().into()).encode(&mut wire, &mut cx).unwrap();
/// let Descriptor(received) = Descriptor::decode(wire.freeze(), &mut cx).unwrap();
/// let received = std::fs::File::from(received);
/// assert_eq!(received.metadata().unwrap().ino(), file.metadata().unwrap().ino());
///
/// // Without a descriptor channel (not a UNIX socket), it cannot be sent.
/// assert!(amp_wire::to_value(&Descriptor(file.into())).is_err());
/// ```
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
