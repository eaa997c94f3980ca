use amp::Command;

#[derive(Command)]
struct Sum(i64, i64);

fn main() {}
