use amp::Record;

#[derive(Debug, Record)]
struct Base {
    name: String,
}

#[derive(Debug, Record)]
struct OptionalBase {
    #[amp(flatten)]
    base: Option<Base>,
}

#[derive(Debug, Record)]
struct Renamed {
    #[amp(flatten, name = "b")]
    base: Base,
}

fn main() {}
