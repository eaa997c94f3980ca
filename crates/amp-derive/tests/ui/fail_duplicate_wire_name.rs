use amp::Record;

#[derive(Record)]
struct Dup {
    #[amp(name = "user-id")]
    id: u64,
    #[amp(name = "user-id")]
    other_id: u64,
}

fn main() {}
