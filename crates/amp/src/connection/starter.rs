//! Starting a responder without an allocation: its future is polled once in
//! a slot of memory the connection keeps for that, and moves to the heap
//! for good only if it is still pending (most responders answer at their
//! first poll).
//!
//! A future may not move once polled, so "poll it on the stack, box it if
//! pending" is impossible; instead the future is written into the slot (a
//! heap block that never moves), polled there, and then either dropped in
//! place (the slot is reused by the next request) or kept running in the
//! slot (the connection makes a new slot for the next request).

use futures_util::future::BoxFuture;
use std::alloc::{self, Layout};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// A block of heap memory for one future.
pub(crate) struct Slot {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a `Slot` is plain memory; what is written in it is `Send` (the
// only writer, `Starter::start`, requires it).
unsafe impl Send for Slot {}

impl Slot {
    /// A slot for a future of `layout` (never zero-sized).
    fn new(layout: Layout) -> Slot {
        // SAFETY: `layout` has a non-zero size (checked by the caller).
        let ptr = unsafe { alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            alloc::handle_alloc_error(layout)
        };
        Slot { ptr, layout }
    }

    /// Whether a value of `layout` fits.
    fn fits(&self, layout: Layout) -> bool {
        layout.size() <= self.layout.size() && layout.align() <= self.layout.align()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `Slot::new`; whatever was
        // written in it has been dropped or was never there.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// A future running in a [`Slot`] of its own.
pub(crate) struct InSlot {
    slot: Slot,
    poll: unsafe fn(NonNull<u8>, &mut Context<'_>) -> Poll<()>,
    drop: unsafe fn(NonNull<u8>),
}

// SAFETY: the future in the slot is `Send` (required by `Starter::start`).
unsafe impl Send for InSlot {}

/// Poll the `F` at `p`.
///
/// # Safety
/// `p` holds a live, pinned `F`.
unsafe fn poll_at<F: Future<Output = ()>>(p: NonNull<u8>, cx: &mut Context<'_>) -> Poll<()> {
    // SAFETY: per the contract; the slot never moves, so the pin holds.
    unsafe { Pin::new_unchecked(&mut *p.cast::<F>().as_ptr()) }.poll(cx)
}

/// Drop the `F` at `p` in place.
///
/// # Safety
/// `p` holds a live `F`, not used again.
unsafe fn drop_at<F>(p: NonNull<u8>) {
    // SAFETY: per the contract.
    unsafe { std::ptr::drop_in_place(p.cast::<F>().as_ptr()) }
}

impl Future for InSlot {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `InSlot` is `Unpin`: the future lives in the slot's heap block,
        // which does not move when the `InSlot` does.
        let this = self.get_mut();
        // SAFETY: the slot holds the live future `poll` was made for.
        unsafe { (this.poll)(this.slot.ptr, cx) }
    }
}

impl Drop for InSlot {
    fn drop(&mut self) {
        // SAFETY: the slot holds the live future `drop` was made for; the
        // slot's memory is freed after (by `Slot::drop`).
        unsafe { (self.drop)(self.slot.ptr) }
    }
}

/// A responder still running after its first poll.
pub(crate) enum Started {
    /// In a slot ([`Starter::start`]'s usual case).
    Slot(InSlot),
    /// Boxed (a zero-sized future, or one the slot could not take).
    Boxed(BoxFuture<'static, ()>),
}

impl Future for Started {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut() {
            Started::Slot(f) => Pin::new(f).poll(cx),
            Started::Boxed(f) => f.as_mut().poll(cx),
        }
    }
}

/// The largest future kept in a slot; larger ones are boxed.
const MAX_SLOT: usize = 16 * 1024;

/// Starts the responder of one request: [`Starter::start`] polls it once,
/// and keeps it (in [`Starter::into_pending`]) only if it is not done.
pub(crate) struct Starter<'a, 'b> {
    cx: &'a mut Context<'b>,
    /// The connection's spare slot, reused while responders finish at
    /// once.
    spare: &'a mut Option<Slot>,
    pending: Option<Started>,
}

impl<'a, 'b> Starter<'a, 'b> {
    pub(crate) fn new(cx: &'a mut Context<'b>, spare: &'a mut Option<Slot>) -> Self {
        Starter {
            cx,
            spare,
            pending: None,
        }
    }

    /// Poll `fut` once; keep it if it is not done. Called at most once.
    pub(crate) fn start<F: Future<Output = ()> + Send + 'static>(&mut self, fut: F) {
        let layout = Layout::new::<F>();
        if layout.size() == 0 || layout.size() > MAX_SLOT {
            let mut b: BoxFuture<'static, ()> = Box::pin(fut);
            if b.as_mut().poll(self.cx).is_pending() {
                self.pending = Some(Started::Boxed(b));
            }
            return;
        }
        let slot = match self.spare.take() {
            Some(s) if s.fits(layout) => s,
            // Too small for this future: one that fits replaces it (so a
            // connection's slot grows to its largest responder once).
            Some(s) => Slot::new(grow(s.layout, layout)),
            None => Slot::new(layout),
        };
        let at = slot.ptr.cast::<F>();
        // SAFETY: the slot is at least `layout` in size and alignment, and
        // holds nothing now.
        unsafe { at.as_ptr().write(fut) };
        // If the poll panics, the future is dropped in place (as a boxed
        // one would be) before the slot is freed.
        let guard = DropOnUnwind::<F> {
            slot: Some(slot),
            _f: std::marker::PhantomData,
        };
        // SAFETY: `at` holds the `F` just written; it stays put.
        let polled = unsafe { poll_at::<F>(at.cast(), self.cx) };
        let slot = guard.defuse();
        match polled {
            Poll::Ready(()) => {
                // SAFETY: the `F` is done and used no more.
                unsafe { drop_at::<F>(at.cast()) };
                *self.spare = Some(slot);
            }
            Poll::Pending => {
                self.pending = Some(Started::Slot(InSlot {
                    slot,
                    poll: poll_at::<F>,
                    drop: drop_at::<F>,
                }));
            }
        }
    }

    /// The responder, if it is still running.
    pub(crate) fn into_pending(self) -> Option<Started> {
        self.pending
    }
}

/// A layout that fits both.
fn grow(a: Layout, b: Layout) -> Layout {
    Layout::from_size_align(a.size().max(b.size()), a.align().max(b.align())).unwrap_or(b)
}

/// Drops the `F` in its slot if a poll unwinds.
struct DropOnUnwind<F> {
    slot: Option<Slot>,
    _f: std::marker::PhantomData<F>,
}

impl<F> DropOnUnwind<F> {
    fn defuse(mut self) -> Slot {
        self.slot.take().expect("defused once")
    }
}

impl<F> Drop for DropOnUnwind<F> {
    fn drop(&mut self) {
        if let Some(slot) = &self.slot {
            // SAFETY: only reached while unwinding out of the first poll:
            // the slot holds the live `F`.
            unsafe { drop_at::<F>(slot.ptr) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Waker;

    /// Counts its drops; pending `polls_left` times.
    struct Probe {
        drops: Arc<AtomicUsize>,
        polls_left: usize,
        _pad: [u64; 8],
    }

    impl Future for Probe {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.polls_left == 0 {
                return Poll::Ready(());
            }
            self.polls_left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn probe(drops: &Arc<AtomicUsize>, polls_left: usize) -> Probe {
        Probe {
            drops: drops.clone(),
            polls_left,
            _pad: [0; 8],
        }
    }

    #[test]
    fn a_ready_future_is_dropped_and_its_slot_reused() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut cx = Context::from_waker(Waker::noop());
        let mut spare = None;
        let mut first = None;
        for i in 0..3 {
            let mut s = Starter::new(&mut cx, &mut spare);
            s.start(probe(&drops, 0));
            assert!(s.into_pending().is_none());
            assert_eq!(drops.load(Ordering::SeqCst), i + 1);
            let at = spare.as_ref().expect("slot kept").ptr;
            // The same block every time: no allocation per request.
            assert_eq!(*first.get_or_insert(at), at);
        }
    }

    #[test]
    fn a_pending_future_keeps_its_slot_and_runs_to_the_end() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut cx = Context::from_waker(Waker::noop());
        let mut spare = None;
        let mut s = Starter::new(&mut cx, &mut spare);
        s.start(probe(&drops, 2));
        let mut running = s.into_pending().expect("still running");
        assert!(spare.is_none(), "the slot went with the future");
        assert!(matches!(running, Started::Slot(_)));
        assert!(Pin::new(&mut running).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut running).poll(&mut cx).is_ready());
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(running);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped once, in place");
        // Dropped before its end (cancelled): dropped once as well.
        let mut s = Starter::new(&mut cx, &mut spare);
        s.start(probe(&drops, 5));
        drop(s.into_pending());
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_larger_future_grows_the_slot_and_a_zero_sized_one_is_boxed() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut cx = Context::from_waker(Waker::noop());
        let mut spare = None;
        let mut s = Starter::new(&mut cx, &mut spare);
        s.start(async {});
        assert!(s.into_pending().is_none());
        let small = spare.as_ref().map(|s| s.layout.size());
        let big = [0u8; 4096];
        let d = drops.clone();
        let mut s = Starter::new(&mut cx, &mut spare);
        s.start(async move {
            std::hint::black_box(&big);
            drop(probe(&d, 0));
        });
        assert!(s.into_pending().is_none());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let grown = spare.as_ref().map(|s| s.layout.size()).unwrap_or(0);
        assert!(
            grown >= 4096 && Some(grown) != small,
            "{small:?} -> {grown}"
        );
        // Zero-sized: boxed (no memory to hold), still run.
        let mut s = Starter::new(&mut cx, &mut spare);
        s.start(std::future::pending::<()>());
        assert!(matches!(s.into_pending(), Some(Started::Boxed(_))));
    }

    #[test]
    fn a_panicking_first_poll_drops_the_future_in_place() {
        struct Boom(Arc<AtomicUsize>);
        impl Future for Boom {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                panic!("boom")
            }
        }
        impl Drop for Boom {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut cx = Context::from_waker(Waker::noop());
            let mut spare = None;
            let mut s = Starter::new(&mut cx, &mut spare);
            s.start(Boom(d));
        }));
        assert!(r.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}
