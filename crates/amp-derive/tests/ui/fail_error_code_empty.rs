use amp::AmpError;

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "")]
    Empty,
}

fn main() {}
