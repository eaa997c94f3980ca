//! The calls every handle makes, on the default conversation or on a channel:
//! one body for [`Connection`](super::Connection) and
//! [`Channel`](super::Channel).

use bytes::Bytes;
use std::future::Future;
use tracing::Instrument;

use amp_wire::session::keys::ANSWER;
use amp_wire::session::Reply;
use amp_wire::{AmpBox, Command, NoError, Record};

use super::errors::{not_sent, reply_error};
use super::options::CallOptions;
use super::request::{Kind, ReplyFuture, SendRequest};
use super::shared::Shared;
use super::spans;
use crate::error::CallError;

/// Call `C` on `route` (`None`: the default conversation) and decode its
/// answer. (A plain function returning the future, not an `async fn`: a
/// layer of `async fn` would add its own copy of the arguments to every
/// call's future.)
pub(crate) fn call<'a, C: Command + 'a>(
    shared: &'a Shared,
    route: Option<&'a [u8]>,
    cmd: C,
    options: CallOptions,
) -> impl Future<Output = Result<C::Response, CallError<C::Error>>> + use<'a, C> {
    let span = spans::request_span!("amp.call", shared.info, command = C::NAME);
    let limit = options.timeout_or(shared.call_timeout);
    let call = async move {
        // `move`: the future owns the command, so it is `Send` when the
        // command is (not only when it is `Sync`).
        let send = SendRequest::on(
            shared,
            route,
            C::NAME.as_bytes(),
            Kind::Call,
            move |w, cx| cmd.write_fields(w, cx),
        )
        .timed(limit, options.cancels_remotely());
        let tag = send.await.map_err(|e| not_sent(e, limit))?;
        spans::record_tag(&tracing::Span::current(), tag);
        match ReplyFuture::new(shared, tag, false)
            .cancelling_remotely(options.cancels_remotely())
            .await
        {
            Reply::Answer(b) => shared
                .with_context(|cx| C::Response::read_fields(&b, cx))
                .map_err(CallError::BadResponse),
            other => Err(reply_error(other, limit)),
        }
    };
    call.instrument(span)
}

/// Send `C` on `route` without asking for an answer.
pub(crate) async fn notify<C: Command>(
    shared: &Shared,
    route: Option<&[u8]>,
    cmd: C,
) -> Result<(), CallError<NoError>> {
    let send = SendRequest::on(
        shared,
        route,
        C::NAME.as_bytes(),
        Kind::Notify,
        move |w, cx| cmd.write_fields(w, cx),
    );
    send.await.map(|_| ()).map_err(|e| not_sent(e, None))
}

/// `C` as Twisted's `callRemote` sends it: asking for an answer only if
/// `C::REQUIRES_ANSWER`, else resolving to `None` once written.
pub(crate) async fn send<C: Command>(
    shared: &Shared,
    route: Option<&[u8]>,
    cmd: C,
) -> Result<Option<C::Response>, CallError<C::Error>> {
    if C::REQUIRES_ANSWER {
        call(shared, route, cmd, CallOptions::new()).await.map(Some)
    } else {
        notify(shared, route, cmd)
            .await
            .map_err(|e| e.map_remote(|n| match n {}))?;
        Ok(None)
    }
}

/// Call command `name` with a raw box on `route`; the answer box without
/// `_answer`.
pub(crate) fn call_raw<'a>(
    shared: &'a Shared,
    route: Option<&'a [u8]>,
    name: Bytes,
    args: AmpBox,
    options: CallOptions,
) -> impl Future<Output = Result<AmpBox, CallError<NoError>>> + use<'a> {
    let span = spans::request_span!(
        "amp.call",
        shared.info,
        command = %amp_wire::display_bytes(&name)
    );
    let limit = options.timeout_or(shared.call_timeout);
    let call = async move {
        let send = SendRequest::on(shared, route, &name, Kind::Call, |w, _| {
            args.write_entries(w)
        })
        .timed(limit, options.cancels_remotely());
        let tag = send.await.map_err(|e| not_sent(e, limit))?;
        spans::record_tag(&tracing::Span::current(), tag);
        match ReplyFuture::new(shared, tag, false)
            .cancelling_remotely(options.cancels_remotely())
            .await
        {
            Reply::Answer(mut b) => {
                b.remove(ANSWER);
                Ok(b)
            }
            other => Err(reply_error(other, limit)),
        }
    };
    call.instrument(span)
}

/// Send a raw request that wants no answer on `route`.
pub(crate) async fn notify_raw(
    shared: &Shared,
    route: Option<&[u8]>,
    name: &[u8],
    args: AmpBox,
) -> Result<(), CallError<NoError>> {
    let send = SendRequest::on(shared, route, name, Kind::Notify, |w, _| {
        args.write_entries(w)
    });
    send.await.map(|_| ()).map_err(|e| not_sent(e, None))
}
