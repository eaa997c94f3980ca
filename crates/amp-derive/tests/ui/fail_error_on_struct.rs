use amp::AmpError;

#[derive(Debug, AmpError)]
struct NotAnEnum {
    code: String,
}

fn main() {}
