use amp::Command;

#[derive(Command)]
#[amp(name = "")]
struct Nameless;

fn main() {}
