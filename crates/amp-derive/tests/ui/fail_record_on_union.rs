use amp::Command;

#[derive(Command)]
union NotACommand {
    a: u32,
    b: f32,
}

fn main() {}
