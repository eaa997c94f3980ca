use amp::AmpError;

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "SAME")]
    First,
    #[amp(code = "SAME", fatal)]
    Second(String),
}

fn main() {}
