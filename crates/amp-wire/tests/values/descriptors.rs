//! File descriptors travel as ordinals through a descriptor channel.

use amp_wire::DecodeError;

/// A stand-in for the connection's descriptor channel: what is "sent" is
/// kept in order and numbered from 0; "received" descriptors are looked up
/// by ordinal.
#[derive(Default)]
struct FakeChannel {
    sent: Vec<std::os::fd::OwnedFd>,
    received: std::collections::HashMap<u64, std::os::fd::OwnedFd>,
}

impl amp_wire::Descriptors for FakeChannel {
    fn send(&mut self, fd: std::os::fd::BorrowedFd<'_>) -> Result<u64, amp_wire::EncodeError> {
        let dup = fd
            .try_clone_to_owned()
            .map_err(|e| amp_wire::EncodeError::invalid(e.to_string()))?;
        self.sent.push(dup);
        Ok(self.sent.len() as u64 - 1)
    }
    fn receive(&mut self, ordinal: u64) -> Result<std::os::fd::OwnedFd, DecodeError> {
        self.received
            .remove(&ordinal)
            .ok_or_else(|| DecodeError::invalid(format!("no descriptor {ordinal}")))
    }
}

#[test]
fn descriptors_travel_as_ordinals() {
    use amp_wire::{Argument, Context, Descriptor};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    let (a, mut b) = UnixStream::pair().unwrap();
    let (c, _d) = UnixStream::pair().unwrap();
    let mut chan = FakeChannel::default();
    let mut out = bytes::BytesMut::new();
    Descriptor(c.into())
        .encode(&mut out, &mut Context::with_descriptors(&mut chan))
        .unwrap();
    out.extend_from_slice(b",");
    Descriptor(a.into())
        .encode(&mut out, &mut Context::with_descriptors(&mut chan))
        .unwrap();
    assert_eq!(&out[..], b"0,1", "ordinals count sent descriptors from 0");
    assert_eq!(chan.sent.len(), 2);

    // The receiving side maps ordinal 1 back to the descriptor that came
    // second; the descriptor works there.
    let second = chan.sent.pop().unwrap();
    chan.received.insert(1, second);
    let got = Descriptor::decode(
        bytes::Bytes::from_static(b"1"),
        &mut Context::with_descriptors(&mut chan),
    )
    .unwrap();
    let mut stream = UnixStream::from(got.0);
    stream.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    // An ordinal that never arrived is a decoding error, not a panic.
    assert!(Descriptor::decode(
        bytes::Bytes::from_static(b"7"),
        &mut Context::with_descriptors(&mut chan)
    )
    .is_err());
}

#[test]
fn descriptors_need_a_descriptor_channel() {
    use amp_wire::{Argument, Context, Descriptor};
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut out = bytes::BytesMut::new();
    let e = Descriptor(a.into())
        .encode(&mut out, &mut Context::none())
        .unwrap_err();
    assert!(e.to_string().contains("UNIX-socket"), "{e}");
    assert!(out.is_empty());
    assert!(Descriptor::decode(bytes::Bytes::from_static(b"0"), &mut Context::none()).is_err());
}
