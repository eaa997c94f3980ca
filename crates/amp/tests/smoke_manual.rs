use amp::{AmpBox, Command, Connection, Context, DecodeError, EncodeError, NoError, Record, Router};

struct Sum {
    a: i64,
    b: i64,
}
#[derive(Debug, PartialEq)]
struct Total {
    total: i64,
}
impl Record for Sum {
    const FIELDS: &'static [&'static str] = &["a", "b"];
    fn write_fields(&self, b: &mut AmpBox, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut s = bytes::BytesMut::new();
        amp::__private::put_arg(b, "a", &self.a, &mut s, cx)?;
        amp::__private::put_arg(b, "b", &self.b, &mut s, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Sum {
            a: amp::__private::get_arg(b, "a", cx)?,
            b: amp::__private::get_arg(b, "b", cx)?,
        })
    }
}
impl Command for Sum {
    const NAME: &'static str = "Sum";
    type Response = Total;
    type Error = NoError;
}
impl Record for Total {
    const FIELDS: &'static [&'static str] = &["total"];
    fn write_fields(&self, b: &mut AmpBox, cx: &mut Context<'_>) -> Result<(), EncodeError> {
        let mut s = bytes::BytesMut::new();
        amp::__private::put_arg(b, "total", &self.total, &mut s, cx)
    }
    fn read_fields(b: &AmpBox, cx: &mut Context<'_>) -> Result<Self, DecodeError> {
        Ok(Total {
            total: amp::__private::get_arg(b, "total", cx)?,
        })
    }
}

#[tokio::test]
async fn smoke() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let _server = Connection::spawn(
        a,
        Router::new().route(|s: Sum, _| async move { Ok(Total { total: s.a + s.b }) }),
    );
    let client = Connection::spawn(b, Router::new());
    let mut futs = Vec::new();
    for i in 0..1000 {
        futs.push(client.call(Sum { a: i, b: 1 }));
    }
    let r = futures_util::future::join_all(futs).await;
    for (i, r) in r.into_iter().enumerate() {
        assert_eq!(r.unwrap().total, i as i64 + 1);
    }
    let e = client.call_raw("Nope", AmpBox::new()).await.unwrap_err();
    println!("{e}");
    client.close().await;
    assert!(client.call(Sum { a: 1, b: 2 }).await.is_err());
}
