use amp::AmpError;

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "TWO")]
    Two(String, String),
}

fn main() {}
