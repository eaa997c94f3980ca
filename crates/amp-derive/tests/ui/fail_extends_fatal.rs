use amp::AmpError;

#[derive(Debug, AmpError)]
enum Base {
    #[amp(code = "A")]
    A,
}

#[derive(Debug, AmpError)]
enum E {
    #[amp(extends, fatal)]
    Base(Base),
}

fn main() {}
