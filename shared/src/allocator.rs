//! The process's memory allocator: mimalloc instead of the C library's `malloc`.
//!
//! A stage allocates and frees many small strings per record (every field of a decoded body,
//! every attribute of an envelope it writes). glibc's allocator spent about a fifth of the
//! chain's instructions on that, and gave memory back to the kernel between batches only to
//! fault it in again; mimalloc's thread-local free lists do the same work in fewer
//! instructions and keep their pages. The bench's chain figure, before and after, is in the
//! README's performance section.
//!
//! Declared here, in the library every function links, so that each `main.rs` stays wiring
//! only; a crate turns it on with the `allocator` feature (every function does, and the
//! `rewards` command, so that its bench measures what Lambda runs). With `allocation-count`
//! (the codec bench's, never a function's) the allocator also counts its allocations.

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc;

/// mimalloc, counting allocations when `allocation-count` is on.
pub struct Allocator;

#[cfg(feature = "allocation-count")]
static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts one allocation (nothing without `allocation-count`).
#[inline(always)]
fn count() {
    #[cfg(feature = "allocation-count")]
    ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Allocations (and reallocations) so far in this process; always 0 without
/// `allocation-count`.
pub fn allocations() -> u64 {
    #[cfg(feature = "allocation-count")]
    return ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(feature = "allocation-count"))]
    0
}

// SAFETY: every call is forwarded to mimalloc unchanged; at most a counter is added.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { MiMalloc.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on as it is.
        unsafe { MiMalloc.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on as it is.
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `realloc` is passed on as it is.
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}

/// The global allocator of any binary that links `rewards-shared` with `allocator` on.
#[global_allocator]
static GLOBAL: Allocator = Allocator;
