//! Captured traffic (pcap, pcapng) read back as the AMP each side sent:
//! packets out of the file ([`packets`]), TCP streams put back in order
//! ([`tcp`]), then boxes, labelled with their connection, direction and
//! capture time (`amp decode`).

pub mod boxes;
pub mod packets;
pub mod tcp;

use std::io::{Read, Write};

use crate::exit::{CliError, CliResult};
use crate::schema::Schema;

/// Prints the AMP of every TCP connection in the capture `input` (with
/// `port` at one end, if given) to `out`; returns what was skipped.
pub fn decode(
    input: impl Read,
    schema: Option<&Schema>,
    json: bool,
    port: Option<u16>,
    out: impl Write,
) -> CliResult<packets::Skipped> {
    let mut streams = tcp::Streams::new(port);
    let mut printer = boxes::Printer::new(schema, json, out);
    let mut events = Vec::new();
    let skipped = packets::read(input, |segment| {
        streams.push(&segment, &mut events);
        for e in events.drain(..) {
            printer.event(e)?;
        }
        Ok(())
    })
    .map_err(CliError::usage)?;
    streams.finish(&mut events);
    for e in events.drain(..) {
        printer
            .event(e)
            .map_err(|e| CliError::usage(format!("cannot write: {e}")))?;
    }
    printer
        .out()
        .flush()
        .map_err(|e| CliError::usage(format!("cannot write: {e}")))?;
    Ok(skipped)
}
