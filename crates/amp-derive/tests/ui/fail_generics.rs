use amp::{AmpError, Command, Record};

#[derive(Record)]
struct Wrapper<T> {
    value: T,
}

#[derive(Command)]
struct Borrowed<'a> {
    text: &'a str,
}

#[derive(Debug, AmpError)]
enum Errors<T> {
    #[amp(extends)]
    Inner(T),
}

fn main() {}
