use amp::AmpError;

// `UNKNOWN` may be declared (as in Twisted); `UNHANDLED` may not: a received
// `UNHANDLED` always means "no responder", so this variant could never be
// received.
#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "UNHANDLED")]
    Unhandled,
    #[amp(code = "UNKNOWN")]
    Unknown,
}

fn main() {}
