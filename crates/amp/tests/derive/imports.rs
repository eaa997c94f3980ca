//! The derives need no imports and no prelude.

use amp::{Command, ErrorTable, Record};

mod paths {
    //! The derives work without any `amp` items imported.
    #[derive(Debug, amp::Record)]
    pub struct R {
        pub x: Option<Vec<u8>>,
    }

    #[derive(Debug, amp::Command)]
    #[amp(response = R, error = E)]
    pub struct C {
        pub list: Vec<R>,
    }

    #[derive(Debug, amp::AmpError)]
    pub enum E {
        #[amp(code = "E")]
        E,
    }
}

#[test]
fn derives_need_no_imports() {
    use paths::*;
    assert_eq!(C::NAME, "C");
    let c = C {
        list: vec![R { x: None }, R { x: Some(vec![1]) }],
    };
    let b = c.to_box().unwrap();
    assert_eq!(C::from_box(&b).unwrap().list.len(), 2);
    assert_eq!(E::E.code(), "E");
}

#[no_implicit_prelude]
mod no_prelude {
    //! The generated code names everything by absolute path.
    #[derive(::amp::Record)]
    pub struct R {
        pub x: ::std::option::Option<::std::string::String>,
        pub l: ::std::vec::Vec<R>,
    }

    #[derive(::amp::Command)]
    #[amp(response = R, error = E)]
    pub struct C {
        pub r: R,
    }

    #[derive(::amp::Command)]
    pub struct Flat {
        #[amp(flatten)]
        pub c: C,
        #[amp(flatten)]
        pub s: S,
        pub z: i64,
    }

    #[derive(::amp::Record)]
    pub struct S {
        pub s: i64,
    }

    #[derive(Debug, ::amp::AmpError)]
    #[amp(display)]
    pub enum E {
        #[amp(code = "A")]
        A(::std::string::String),
        #[amp(extends)]
        B(::amp::NoError),
    }
}

#[test]
fn no_implicit_prelude_is_fine() {
    assert_eq!(<no_prelude::C as Command>::NAME, "C");
    assert_eq!(no_prelude::E::A("x".into()).to_string(), "x");
    assert_eq!(no_prelude::R::FIELDS, &["l", "x"]);
    assert_eq!(no_prelude::Flat::FIELDS, &["r", "s", "z"]);
}
