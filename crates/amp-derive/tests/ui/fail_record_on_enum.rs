use amp::Record;

#[derive(Record)]
enum NotARecord {
    A,
    B,
}

fn main() {}
