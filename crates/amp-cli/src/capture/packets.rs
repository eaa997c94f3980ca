//! Packets out of a capture file: pcap or pcapng (tcpdump `-w`, Wireshark,
//! dumpcap), each TCP segment with its addresses, sequence number, flags
//! and capture time. Files and headers are parsed by `pcap-file` and
//! `etherparse`; only the choice of link layer is ours.

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One TCP segment seen in a capture.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Capture time (since the epoch).
    pub time: Duration,
    /// The sender.
    pub from: SocketAddr,
    /// The receiver.
    pub to: SocketAddr,
    /// The sequence number of its first byte (of the SYN, with `syn`).
    pub seq: u32,
    /// Flags: the connection opens (`syn`; with `ack`, the answer to it),
    /// the sender is done (`fin`), or the connection is cut (`rst`).
    pub syn: bool,
    /// See `syn`.
    pub ack: bool,
    /// See `syn`.
    pub fin: bool,
    /// See `syn`.
    pub rst: bool,
    /// The bytes it carries.
    pub payload: Vec<u8>,
}

/// Whether `magic` (a file's first four bytes) starts a pcap or pcapng
/// file.
pub fn is_capture(magic: &[u8]) -> bool {
    matches!(
        magic,
        [0x0a, 0x0d, 0x0d, 0x0a, ..]
            | [0xa1, 0xb2, 0xc3, 0xd4, ..]
            | [0xd4, 0xc3, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0x3c, 0x4d, ..]
            | [0x4d, 0x3c, 0xb2, 0xa1, ..]
    )
}

/// What reading a capture came to besides its segments.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Packets that are not TCP over IP (ARP, UDP, ...).
    pub not_tcp: u64,
    /// Packets cut short by the capture's snap length.
    pub truncated: u64,
}

/// Calls `each` with every TCP segment of the capture `input`, in file
/// order. Errors: not a capture, a link layer we do not read, a file cut
/// in the middle of a record.
pub fn read(
    input: impl Read,
    mut each: impl FnMut(Segment) -> std::io::Result<()>,
) -> Result<Skipped, String> {
    let mut input = std::io::BufReader::new(input);
    let mut magic = [0u8; 4];
    input
        .read_exact(&mut magic)
        .map_err(|e| format!("cannot read the capture: {e}"))?;
    let whole = std::io::Read::chain(&magic[..], input);
    let mut skipped = Skipped::default();
    let mut one = |link: DataLink, time: Duration, data: &[u8], orig: u32| -> Result<(), String> {
        if (data.len() as u64) < orig as u64 {
            skipped.truncated += 1;
        }
        match segment(link, time, data)? {
            Some(s) => each(s).map_err(|e| format!("cannot write: {e}")),
            None => {
                skipped.not_tcp += 1;
                Ok(())
            }
        }
    };
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut r = PcapNgReader::new(whole).map_err(|e| format!("not a pcapng file: {e}"))?;
        let mut links = Vec::new();
        while let Some(block) = r.next_block() {
            match block.map_err(|e| format!("the pcapng file is cut or damaged: {e}"))? {
                Block::SectionHeader(_) => links.clear(),
                Block::InterfaceDescription(i) => {
                    let resolution = i.options.iter().find_map(|o| match o {
                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    });
                    links.push((i.linktype, resolution.unwrap_or(6)));
                }
                Block::EnhancedPacket(p) => {
                    let (link, resolution) = *links
                        .get(p.interface_id as usize)
                        .ok_or("a packet names an interface the file does not describe")?;
                    // (pcap-file hands the raw count over as nanoseconds.)
                    let time = in_units(p.timestamp.as_nanos(), resolution);
                    one(link, time, &p.data, p.original_len)?;
                }
                Block::SimplePacket(p) => {
                    let (link, _) = *links.first().ok_or("a packet before any interface")?;
                    one(link, Duration::ZERO, &p.data, p.original_len)?;
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(whole).map_err(|e| format!("not a pcap file: {e}"))?;
        let link = r.header().datalink;
        while let Some(p) = r.next_packet() {
            let p = p.map_err(|e| format!("the pcap file is cut or damaged: {e}"))?;
            one(link, p.timestamp, &p.data, p.orig_len)?;
        }
    }
    Ok(skipped)
}

/// A pcapng timestamp of `raw` units of the interface's resolution
/// (`if_tsresol`: 10^-r seconds, or 2^-r with the high bit set; default
/// microseconds).
fn in_units(raw: u128, resolution: u8) -> Duration {
    let r = u32::from(resolution & 0x7f);
    let nanos = if resolution & 0x80 != 0 {
        raw.saturating_mul(1_000_000_000) >> r.min(127)
    } else if r <= 9 {
        raw.saturating_mul(10u128.pow(9 - r))
    } else {
        raw / 10u128.pow((r - 9).min(38))
    };
    Duration::from_nanos(nanos.min(u64::MAX as u128) as u64)
}

/// The IP packet after a Linux cooked header of `len` bytes whose
/// protocol (an EtherType) is at `proto`, if it is IPv4 or IPv6.
fn cooked_ip(data: &[u8], len: usize, proto: usize) -> Option<SlicedPacket<'_>> {
    let kind = u16::from_be_bytes([*data.get(proto)?, *data.get(proto + 1)?]);
    if data.len() < len || !matches!(kind, 0x0800 | 0x86dd) {
        return None;
    }
    SlicedPacket::from_ip(&data[len..]).ok()
}

/// The TCP segment in one captured frame, if it holds one.
fn segment(link: DataLink, time: Duration, data: &[u8]) -> Result<Option<Segment>, String> {
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data),
        // etherparse refuses the loopback device's cooked header (ARPHRD
        // 772), which `tcpdump -i any` writes for `lo`: then the IP after
        // the 16-byte header is read if its protocol says IP.
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data)
            .or_else(|e| cooked_ip(data, 16, 14).ok_or(e)),
        // Cooked v2 (`tcpdump -i any` since libpcap 1.10): 20 bytes, the
        // protocol first.
        DataLink::LINUX_SLL2 => match cooked_ip(data, 20, 0) {
            Some(p) => Ok(p),
            None => return Ok(None),
        },
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data),
        // BSD loopback: a 4-byte address family, then IP.
        DataLink::NULL | DataLink::LOOP if data.len() >= 4 => SlicedPacket::from_ip(&data[4..]),
        other => return Err(format!("captures of link type {other:?} are not read (Ethernet, Linux cooked v1 and v2, raw IP and loopback are)")),
    };
    let Ok(p) = sliced else {
        return Ok(None);
    };
    let (src, dst): (IpAddr, IpAddr) = match &p.net {
        Some(NetSlice::Ipv4(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        _ => return Ok(None),
    };
    let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
        return Ok(None);
    };
    Ok(Some(Segment {
        time,
        from: SocketAddr::new(src, tcp.source_port()),
        to: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload().to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_times_follow_the_interface_resolution() {
        // Microseconds by default, as tcpdump and scapy write them.
        assert_eq!(in_units(1_500_000, 6), Duration::from_millis(1500));
        assert_eq!(in_units(1_500_000_000, 9), Duration::from_millis(1500));
        // Powers of two: 2^-10 s units.
        assert_eq!(in_units(1024, 0x80 | 10), Duration::from_secs(1));
    }

    /// An IPv4/TCP packet from 127.0.0.1:4000 to :1234 carrying `hi`.
    fn ip_tcp() -> Vec<u8> {
        let mut v = Vec::new();
        etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(4000, 1234, 7, 1024)
            .write(&mut v, b"hi")
            .unwrap();
        v
    }

    #[test]
    fn linux_cooked_headers_of_the_loopback_are_read() {
        // v1: packet type 0 (to us), ARPHRD 772 (loopback), address length
        // 6, 8 address bytes, protocol 0x0800.
        let mut sll = vec![0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0];
        sll.extend(ip_tcp());
        let s = segment(DataLink::LINUX_SLL, Duration::ZERO, &sll)
            .unwrap()
            .unwrap();
        assert_eq!((s.to.port(), s.seq, &s.payload[..]), (1234, 7, &b"hi"[..]));
        // v2: protocol 0x0800, reserved, interface 1, ARPHRD 772, packet
        // type, address length, 8 address bytes.
        let mut sll2 = vec![8, 0, 0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        sll2.extend(ip_tcp());
        let s = segment(DataLink::LINUX_SLL2, Duration::ZERO, &sll2)
            .unwrap()
            .unwrap();
        assert_eq!(s.payload, b"hi");
        // Not IP (ARP, 0x0806): no segment, no error.
        let mut arp = sll2.clone();
        arp[0] = 0x08;
        arp[1] = 0x06;
        assert!(segment(DataLink::LINUX_SLL2, Duration::ZERO, &arp)
            .unwrap()
            .is_none());
        assert!(segment(DataLink::LINUX_SLL2, Duration::ZERO, &[8])
            .unwrap()
            .is_none());
    }

    #[test]
    fn captures_are_told_by_their_magic() {
        assert!(is_capture(&[0xd4, 0xc3, 0xb2, 0xa1]));
        assert!(is_capture(&[0x0a, 0x0d, 0x0d, 0x0a]));
        assert!(!is_capture(b"\x00\x04_ask"));
    }
}
