use amp::Command;

#[derive(Command)]
#[amp(nmae = "Sum", response = ())]
struct Sum {
    #[amp(rename = "x")]
    a: i64,
}

fn main() {}
