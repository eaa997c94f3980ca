//! The descriptor transport and channel against real socket pairs.

use super::*;
use std::io::{Read, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pair() -> (UnixFdStream, UnixFdStream) {
    let (a, b) = UnixStream::pair().unwrap();
    (UnixFdStream::new(a), UnixFdStream::new(b))
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    (r.into(), w.into())
}

async fn read_exact(s: &mut UnixFdStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn a_pipe_crosses_the_socket() {
    let (mut a, mut b) = pair();
    let (mut r, w) = pipe();
    assert_eq!(a.channel().queue(w.as_fd()).unwrap(), 0);
    drop(w);
    a.write_all(b"x").await.unwrap();
    assert_eq!(read_exact(&mut b, 1).await, b"x");
    let fd = b.channel().take(0).expect("descriptor 0 arrived");
    let flags = rustix::io::fcntl_getfd(&fd).unwrap();
    assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    std::fs::File::from(fd).write_all(b"through").unwrap();
    let mut got = String::new();
    r.read_to_string(&mut got).unwrap(); // every write end is closed now
    assert_eq!(got, "through");
}

#[tokio::test]
async fn ordinals_count_from_zero_on_each_side() {
    let (mut a, mut b) = pair();
    let (ca, cb) = (a.channel(), b.channel());
    let (_r, w) = pipe();
    for i in 0..3 {
        assert_eq!(ca.queue(w.as_fd()).unwrap(), i);
    }
    for i in 0..2 {
        assert_eq!(cb.queue(w.as_fd()).unwrap(), i);
    }
    let (x, y) = tokio::join!(
        async {
            a.write_all(b"abc").await.unwrap();
            read_exact(&mut a, 2).await
        },
        async {
            b.write_all(b"de").await.unwrap();
            read_exact(&mut b, 3).await
        }
    );
    assert_eq!((x.as_slice(), y.as_slice()), (&b"de"[..], &b"abc"[..]));
    assert_eq!((ca.received_pending(), cb.received_pending()), (2, 3));
    assert!(ca.take(0).is_some() && ca.take(1).is_some() && ca.take(2).is_none());
    assert!((0..3).all(|i| cb.take(i).is_some()));
    assert_eq!(ca.queue(w.as_fd()).unwrap(), 3);
}

#[tokio::test]
async fn three_hundred_at_once_arrive_in_order() {
    let (mut a, mut b) = pair();
    let pipes: Vec<_> = (0..3).map(|_| pipe()).collect();
    let ca = a.channel();
    for i in 0..300u64 {
        assert_eq!(ca.queue(pipes[i as usize % 3].1.as_fd()).unwrap(), i);
    }
    a.write_all(b"0123456789").await.unwrap();
    assert_eq!(ca.lock().outgoing.len(), 0, "all sent with the ten bytes");
    let mut first = [0u8; 10];
    let n = b.read(&mut first).await.unwrap();
    assert!(n >= 1);
    let cb = b.channel();
    assert!(cb.received_pending() <= SCM_MAX_FD, "more than one message");
    read_exact(&mut b, 10 - n).await;
    assert_eq!(cb.received_pending(), 300);
    for i in 0..300u64 {
        let mut f = std::fs::File::from(cb.take(i).unwrap());
        f.write_all(&[(i % 256) as u8]).unwrap();
    }
    for (j, (r, _)) in pipes.iter().enumerate() {
        let mut got = [0u8; 100];
        (&*r).read_exact(&mut got).unwrap();
        let want: Vec<u8> = (0..300u64)
            .filter(|i| *i as usize % 3 == j)
            .map(|i| (i % 256) as u8)
            .collect();
        assert_eq!(got.as_slice(), want.as_slice());
    }
}

#[tokio::test]
async fn a_flood_of_unclaimed_descriptors_fails_the_read() {
    let (mut a, mut b) = pair();
    let (_r, w) = pipe();
    let ca = a.channel();
    for _ in 0..MAX_UNCLAIMED + SCM_MAX_FD {
        ca.queue(w.as_fd()).unwrap();
    }
    let writer = tokio::spawn(async move {
        // One byte per sendmsg of up to 253 descriptors.
        let _ = a.write_all(&[0u8; 64]).await;
        a
    });
    let mut buf = [0u8; 64];
    let err = loop {
        match b.read(&mut buf).await {
            Ok(0) => panic!("EOF before the limit was hit"),
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("no box claimed"), "{err}");
    assert!(b.channel().received_pending() <= MAX_UNCLAIMED);
    drop(writer.await.unwrap());
}

#[tokio::test]
async fn descriptors_arrive_before_the_bytes_written_after_them() {
    let (mut a, mut b) = pair();
    let (ca, cb) = (a.channel(), b.channel());
    let (_r, w) = pipe();
    for i in 0..20u8 {
        ca.queue(w.as_fd()).unwrap();
        if i % 2 == 0 {
            ca.queue(w.as_fd()).unwrap();
        }
        a.write_all(&[i]).await.unwrap();
    }
    // Bytes 0..=i were preceded by descriptors 0..ordinals_before(i+1).
    let mut needed = 0;
    for i in 0..20u8 {
        needed += if i % 2 == 0 { 2 } else { 1 };
        assert_eq!(read_exact(&mut b, 1).await, [i]);
        for ordinal in 0..needed {
            assert!(
                cb.lock().received.contains_key(&ordinal),
                "descriptor {ordinal} before byte {i}"
            );
        }
    }
    assert_eq!(cb.received_pending(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptors_queued_while_writing_from_other_tasks() {
    let (mut a, mut b) = pair();
    let ca = a.channel();
    let (_r, w) = pipe();
    let w = Arc::new(w);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (ca, w, tx) = (ca.clone(), w.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                // "Encode" in this task, hand the bytes to the writer.
                let ordinal = ca.queue(w.as_fd()).unwrap();
                tx.send(format!("{ordinal};").into_bytes()).unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    drop(tx);
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            a.write_all(&bytes).await.unwrap();
        }
        a.shutdown().await.unwrap();
    });
    let cb = b.channel();
    let mut text = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = b.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        // Every complete ordinal read so far has its descriptor (the
        // last piece is incomplete or empty).
        let items: Vec<&[u8]> = text.split(|c| *c == b';').collect();
        for item in &items[..items.len() - 1] {
            let ordinal: u64 = std::str::from_utf8(item).unwrap().parse().unwrap();
            assert!(cb.lock().received.contains_key(&ordinal), "{ordinal}");
        }
    }
    writer.await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(cb.received_pending(), 200);
}

#[tokio::test]
async fn an_empty_write_keeps_descriptors_queued() {
    let (mut a, mut b) = pair();
    let (_r, w) = pipe();
    a.channel().queue(w.as_fd()).unwrap();
    assert_eq!(a.write(b"").await.unwrap(), 0);
    assert_eq!(a.channel().lock().outgoing.len(), 1);
    a.write_all(b"z").await.unwrap();
    assert_eq!(read_exact(&mut b, 1).await, b"z");
    assert_eq!(b.channel().received_pending(), 1);
}

#[tokio::test]
async fn unknown_or_taken_ordinals_are_errors() {
    let (mut a, mut b) = pair();
    let (_r, w) = pipe();
    a.channel().queue(w.as_fd()).unwrap();
    a.write_all(b"x").await.unwrap();
    read_exact(&mut b, 1).await;
    let chan = b.channel();
    let mut d: &FdChannel = &chan;
    let err = d.receive(5).unwrap_err().to_string();
    assert!(
        err.contains("descriptor ordinal 5 was never received"),
        "{err}"
    );
    assert!(d.receive(0).is_ok());
    let err = d.receive(0).unwrap_err().to_string();
    assert!(
        err.contains("descriptor ordinal 0 was already taken"),
        "{err}"
    );
    let mut e: &FdChannel = &a.channel();
    assert_eq!(e.send(w.as_fd()).unwrap(), 1);
}

#[tokio::test]
async fn peer_close_reads_zero() {
    let (a, mut b) = pair();
    drop(a);
    let mut buf = [0u8; 16];
    assert_eq!(b.read(&mut buf).await.unwrap(), 0);
}

#[tokio::test]
async fn shutdown_gives_the_peer_eof() {
    let (mut a, mut b) = pair();
    a.write_all(b"bye").await.unwrap();
    a.shutdown().await.unwrap();
    let mut all = Vec::new();
    b.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"bye");
}

#[tokio::test]
async fn unclaimed_descriptors_close_with_the_channel() {
    let (mut a, mut b) = pair();
    let (mut r, w) = pipe();
    a.channel().queue(w.as_fd()).unwrap();
    drop(w);
    a.write_all(b"x").await.unwrap();
    read_exact(&mut b, 1).await;
    assert_eq!(b.channel().received_pending(), 1);
    drop(b); // the last reference to the channel
    let mut rest = Vec::new();
    assert_eq!(
        r.read_to_end(&mut rest).unwrap(),
        0,
        "EOF: no write end left"
    );
}

#[tokio::test]
async fn large_data_with_descriptors_both_ways() {
    let (mut a, mut b) = pair();
    let (_r, w) = pipe();
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let (ca, cb) = (a.channel(), b.channel());
    for _ in 0..10 {
        ca.queue(w.as_fd()).unwrap();
        cb.queue(w.as_fd()).unwrap();
    }
    async fn run(s: &mut UnixFdStream, data: &[u8]) -> Vec<u8> {
        let (mut rd, mut wr) = tokio::io::split(s);
        let send = async {
            wr.write_all(data).await.unwrap();
            wr.shutdown().await.unwrap();
        };
        let recv = async {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await.unwrap();
            got
        };
        tokio::join!(send, recv).1
    }
    let (x, y) = tokio::join!(run(&mut a, &data), run(&mut b, &data));
    assert!(x == data && y == data);
    assert_eq!((ca.received_pending(), cb.received_pending()), (10, 10));
}
