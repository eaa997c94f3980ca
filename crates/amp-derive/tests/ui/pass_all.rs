// Everything that should compile, including under `#![deny(warnings)]`.
#![deny(warnings)]

use amp::{AmpError, Command, ErrorTable, Record};

#[derive(Debug, Record)]
struct Item {
    name: String,
}

#[derive(Debug, Record)]
struct Reply {
    items: Vec<Item>,
    #[amp(name = "next-page")]
    next_page: Option<u32>,
}

#[derive(Debug, AmpError)]
enum Base {
    #[amp(code = "A", description = "a")]
    A,
}

#[derive(Debug, AmpError)]
#[amp(display)]
enum Errors {
    #[amp(code = "B", fatal)]
    B(String),
    #[amp(code = "C")]
    C { message: ::std::string::String },
    #[amp(extends)]
    Base(Base),
}

#[derive(Debug, Command)]
#[amp(name = "List", response = "Reply", error = Errors)]
#[amp(requires_answer = true)]
struct List {
    r#type: String,
    #[amp(name = "page-size")]
    page_size: Option<u32>,
}

#[derive(Debug, Command)]
#[amp(requires_answer = false)]
struct Ping;

// Twisted allows a command to declare `UNKNOWN` as its own error code.
#[derive(Debug, AmpError)]
enum SwitchError {
    #[amp(code = "UNKNOWN")]
    UnknownProtocol(String),
}

#[derive(Debug, Record)]
struct Empty {}

// Command inheritance: the parent's arguments in the same box.
#[derive(Debug, Command)]
#[amp(name = "List2", response = "Reply", error = Errors)]
struct ListMore {
    #[amp(flatten)]
    base: List,
    #[amp(flatten)]
    empty: Empty,
    extra: bool,
}

// Constants named like the parameters a derive might have picked.
#[allow(non_upper_case_globals)]
const amp_box: u8 = 0;
#[allow(non_upper_case_globals)]
const amp_cx: u8 = 0;

#[derive(Debug, Record)]
struct Clash {
    b: i64,
    cx: i64,
}

// `crate = "..."`: any path that provides what `amp` provides.
mod shim {
    pub use amp::*;
}

#[derive(Debug, Record)]
#[amp(crate = "shim")]
struct ViaShim {
    x: i64,
}

#[derive(Debug, Command)]
#[amp(crate = crate::shim, error = Shim)]
struct ViaShimCommand;

#[derive(Debug, AmpError)]
#[amp(crate = "crate::shim")]
enum Shim {
    #[amp(code = "S")]
    S,
}

fn main() {
    let _ = (amp_box, amp_cx);
    assert_eq!(List::NAME, "List");
    const { assert!(!<Ping as Command>::REQUIRES_ANSWER) };
    assert_eq!(Errors::codes().len(), 3);
    assert_eq!(Errors::from_wire(b"A", "").unwrap().to_string(), "a");
    let _ = Reply::FIELDS;
    assert_eq!(ListMore::FIELDS, &["extra", "page-size", "type"]);
    let _ = (Empty {}, Clash { b: 1, cx: 2 }.to_box());
    let _ = (
        ViaShim { x: 1 }.to_box(),
        ViaShimCommand::NAME,
        Shim::S.code(),
    );
    let _ = Item {
        name: String::new(),
    };
    assert!(SwitchError::from_wire(b"UNKNOWN", "").is_some());
}
