use amp::AmpError;

#[derive(Debug, AmpError)]
enum E {
    #[amp(code = "NUM")]
    Num(u32),
    #[amp(code = "NAMED")]
    Named { message: Vec<u8> },
}

fn main() {}
