use amp::AmpError;

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "UNHANDLED")]
    Unhandled,
    #[amp(code = "UNKNOWN")]
    Unknown,
}

fn main() {}
