//! What a process costs: its live heap, through a [`GlobalAlloc`] wrapper that counts the bytes
//! allocated and not yet freed ([`live_bytes`] reads the count), and its CPU time, resident
//! memory and descriptors from `/proc` ([`process::Usage`]).
//!
//! Why: the server's memory tests ("1,000 rooms made and left leave nothing behind", the soak)
//! judged RSS, and RSS follows the allocator's page pools and the machine's load: on a busy CI
//! machine a quiet server moved by 5 % with no leak behind it. The live byte count moves only
//! when something is kept, so a leak of a few hundred bytes per room is visible and a busy
//! machine is not. It is also an operator's figure (`skirmish_heap_live_bytes` in `/metrics`).
//!
//! Cost: one uncontended atomic add per allocation and per free. Each thread counts into its
//! own cache line (one of [`SHARDS`], picked when the thread first allocates), so two cores do
//! not bounce a counter between them; [`live_bytes`] sums the shards. A block freed on another
//! thread than the one that allocated it is subtracted from that thread's shard, so one shard
//! can go negative; only the sum means anything.
//!
//! The server wraps mimalloc; any allocator goes:
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: heap::Counting<std::alloc::System> = heap::Counting(std::alloc::System);
//!
//! let before = heap::live_bytes();
//! let kept = vec![0u8; 1 << 20];
//! assert!(heap::live_bytes() >= before + (1 << 20));
//! drop(kept);
//! assert!(heap::live_bytes() < before + (1 << 20));
//! ```

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod process;

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Counters, more than the threads that allocate often (tokio's workers, the blocking pool).
pub const SHARDS: usize = 16;

/// One counter on its own cache line (128 bytes: adjacent-line prefetch pairs 64-byte lines).
#[repr(align(128))]
struct Shard(AtomicIsize);

static LIVE: [Shard; SHARDS] = [const { Shard(AtomicIsize::new(0)) }; SHARDS];
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard; `usize::MAX` until its first allocation. `const` and without a
    /// destructor, so reading it never allocates (which would recurse into the allocator).
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn count(bytes: isize) {
    let index = MY_SHARD
        .try_with(|mine| {
            let mut index = mine.get();
            if index == usize::MAX {
                index = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
                mine.set(index);
            }
            index
        })
        // A thread's last frees run after its thread-locals are gone.
        .unwrap_or(0);
    LIVE[index].0.fetch_add(bytes, Ordering::Relaxed);
}

/// Bytes allocated through [`Counting`] and not yet freed; 0 in a process whose global
/// allocator is not a [`Counting`] (library tests, for instance).
pub fn live_bytes() -> u64 {
    let sum: isize = LIVE.iter().map(|shard| shard.0.load(Ordering::Relaxed)).sum();
    sum.max(0) as u64
}

/// Wraps a global allocator and counts the bytes it hands out and takes back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting<A>(pub A);

// SAFETY: every method forwards to the wrapped allocator with the caller's own arguments, and
// only adds bookkeeping that never allocates (atomics and a const thread-local), so the wrapped
// allocator's guarantees are the ones the caller gets.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on unchanged.
        let block = unsafe { self.0.alloc(layout) };
        if !block.is_null() {
            count(layout.size() as isize);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { self.0.alloc_zeroed(layout) };
        if !block.is_null() {
            count(layout.size() as isize);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `block` came from this allocator with `layout`.
        unsafe { self.0.dealloc(block, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, passed on unchanged.
        let moved = unsafe { self.0.realloc(block, layout, new_size) };
        if !moved.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOCATOR: Counting<std::alloc::System> = Counting(std::alloc::System);

    /// The harness allocates a little beside the test, so each check allows some slack.
    const SLACK: i64 = 64 * 1024;

    /// One test, not several: tests run on parallel threads and would count each other's blocks.
    #[test]
    fn kept_grown_and_freed_blocks_are_counted_on_every_thread() {
        let before = live_bytes() as i64;
        let kept: Vec<u8> = vec![7; 4 << 20];
        let held = live_bytes() as i64 - before;
        assert!((held - (4 << 20)).abs() < SLACK, "4 MiB held: {held}");
        drop(kept);
        let after = live_bytes() as i64 - before;
        assert!(after.abs() < SLACK, "freed: {after}");

        let mut grown: Vec<u64> = Vec::with_capacity(1);
        grown.resize(1 << 20, 1);
        let held = live_bytes() as i64 - before;
        assert!((held - (8 << 20)).abs() < SLACK, "8 MiB after growth: {held}");
        // Freed on another thread: subtracted from that thread's shard, the sum still drops.
        std::thread::spawn(move || drop(grown)).join().expect("joined");
        let after = live_bytes() as i64 - before;
        assert!(after.abs() < SLACK, "freed elsewhere: {after}");
    }
}
