// The error points at the `response` type.
use amp::Command;

struct NotARecord;

#[derive(Command)]
#[amp(response = NotARecord)]
struct C {
    x: i64,
}

fn main() {}
