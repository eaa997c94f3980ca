// `name`, `response`, ... belong to commands, not records; `fatal` is a
// flag, not a key with a value; keys may not be repeated.
use amp::{AmpError, Record};

#[derive(Record)]
#[amp(name = "Point")]
struct Point {
    #[amp(name = "x", name = "y")]
    x: i64,
}

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "E", fatal = true)]
    E,
}

fn main() {}
