use amp::AmpError;

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "A")]
    A,
    B,
    #[amp(fatal)]
    C,
}

fn main() {}
