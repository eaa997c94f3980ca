use amp::Record;

// Only a `Record` can be flattened.
#[derive(Debug, Record)]
struct NotARecord {
    #[amp(flatten)]
    count: i64,
}

fn main() {}
