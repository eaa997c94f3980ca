use amp::{Command, Record};

#[derive(Debug, Record)]
struct Base {
    name: String,
    polite: Option<bool>,
}

#[derive(Debug, Record)]
struct Other {
    polite: bool,
}

// `name` is also a field of the flattened `Base`.
#[derive(Debug, Command)]
struct Clash {
    #[amp(flatten)]
    base: Base,
    name: String,
}

// Two flattened records that share `polite`.
#[derive(Debug, Record)]
struct Both {
    #[amp(flatten)]
    base: Base,
    #[amp(flatten)]
    other: Other,
}

fn main() {}
