use amp::AmpError;

#[derive(Debug, AmpError)]
enum Base {
    #[amp(code = "A")]
    A,
}

#[derive(Debug, AmpError)]
enum E {
    #[amp(extends)]
    NoField,
    #[amp(extends)]
    Named { base: Base },
    #[amp(extends)]
    Two(Base, Base),
}

fn main() {}
