use amp::Command;

#[derive(Command)]
struct Reserved {
    _ask: String,
    #[amp(name = "_command")]
    command: String,
}

fn main() {}
