use amp::Record;

#[derive(Record)]
struct Empty {
    #[amp(name = "")]
    x: i64,
}

fn main() {}
