//! The guest's allocator: the rest of the page that holds the end of the data first, then
//! dlmalloc on pages it grows.
//!
//! Every call starts from the module's initial state, and between calls the host resets
//! every page the instance's memory has (`docs/limits.md`), so each page a call's memory
//! has costs it a reset; a call that grows the memory also costs its warm instance. Rust's own allocator on wasm32 (dlmalloc) never uses the room wasm-ld leaves between
//! the end of the data (`__heap_base`) and the end of that page: its first allocation grows
//! the memory by a whole page, so a call that allocates a few bytes pays for one more
//! 64 KiB page. `Heap` bumps through that room first and only then asks dlmalloc.
//!
//! Measured with the examples built with a 64 KiB stack, 2,000 calls, medians of 21
//! interleaved repetitions, two runs (the host's `Compiled::execute`, 1 thread): a
//! `logger.log` call 8.6–8.8 µs with Rust's allocator, 8.1–8.2 µs with this; an
//! `analytics.view` call 8.2–8.4 µs with a 128 KiB stack and Rust's allocator, 6.3–6.5 µs
//! with a 64 KiB stack and this. Both calls' memories stay at 2 pages instead of growing.
//!
//! # Invariants
//!
//! - (H1) The bump region is `[__heap_base, end of its page)`: inside the module's initial
//!   memory (wasm-ld sizes it to hold the heap base), where nothing else allocates. The
//!   fallback is a dlmalloc of our own whose only memory is pages it grows (`Grow`), which
//!   start at the memory's end, past the region. Not std's: newer versions of it hand
//!   dlmalloc the linker's `[__heap_base, __heap_end)` first, which holds the region when
//!   the initial memory leaves a page or more above the heap base.
//! - (H2) Live bump allocations never overlap, and each lies in the region and is aligned
//!   as asked: `next` only moves past a new allocation, and moves back only over the
//!   allocation that ends at it, when that one is freed or shrunk.
//! - (H3) Freeing any other bump allocation gives nothing back, nor does shrinking it. The
//!   region is less than a page and the instance is thrown away after its call, so at
//!   most that much is lost.

/// A bump region of addresses: what [`Heap`] hands out before dlmalloc, kept apart from
/// memory so that its laws are checked natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bump {
    /// Where the region starts.
    base: usize,
    /// Where the next allocation may start.
    next: usize,
    /// Where the region ends (exclusive).
    end: usize,
}

impl Bump {
    /// The region `[base, end)`, all free.
    pub(crate) const fn new(base: usize, end: usize) -> Bump {
        Bump {
            base,
            next: base,
            end,
        }
    }

    /// Whether `at` was handed out by this region.
    pub(crate) fn owns(&self, at: usize) -> bool {
        (self.base..self.end).contains(&at)
    }

    /// The start of a fresh allocation of `size` bytes aligned to `align` (a power of
    /// two), or `None` if the rest of the region is too small (H2).
    pub(crate) fn take(&mut self, size: usize, align: usize) -> Option<usize> {
        let start = self.next.checked_next_multiple_of(align)?;
        let stop = start.checked_add(size).filter(|&stop| stop <= self.end)?;
        self.next = stop;
        Some(start)
    }

    /// Frees the allocation at `at` of `size` bytes: given back only if it is the last
    /// (H2, H3), as a resize to nothing is.
    pub(crate) fn give(&mut self, at: usize, size: usize) {
        self.resize(at, size, 0);
    }

    /// Resizes the allocation at `at` from `old` to `new` bytes in place, if it is the last
    /// and the region holds the new size; otherwise changes nothing and says so.
    pub(crate) fn resize(&mut self, at: usize, old: usize, new: usize) -> bool {
        let last = at.checked_add(old) == Some(self.next);
        match at.checked_add(new) {
            Some(stop) if last && stop <= self.end => {
                self.next = stop;
                true
            }
            _ => false,
        }
    }
}

#[cfg(all(
    target_arch = "wasm32",
    target_os = "unknown",
    not(target_feature = "atomics"),
    feature = "heap"
))]
mod wasm {
    use super::Bump;
    use dlmalloc::{Allocator, Dlmalloc};
    use std::alloc::{GlobalAlloc, Layout};
    use std::cell::{Cell, UnsafeCell};
    use std::ptr;

    unsafe extern "C" {
        /// Where wasm-ld put the end of the data: the start of the heap.
        static __heap_base: u8;
    }

    /// A wasm page.
    const PAGE: usize = 1 << 16;

    /// Where [`Heap`]'s dlmalloc gets memory: pages it grows, never anything below the
    /// memory's end (H1).
    struct Grow;

    // SAFETY: `alloc` returns fresh pages from `memory.grow`, zeroed, never handed out
    // before; nothing is ever given back or moved.
    unsafe impl Allocator for Grow {
        fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
            let pages = size.div_ceil(PAGE);
            let previous = core::arch::wasm32::memory_grow(0, pages);
            if previous == usize::MAX {
                return (ptr::null_mut(), 0, 0);
            }
            let (base, len) = (previous * PAGE, pages * PAGE);
            // The last pages of a full 4 GiB memory: a region may not end at address 0
            // (wrapping), so its last bytes are left out.
            let len = if base.wrapping_add(len) == 0 {
                len - 16
            } else {
                len
            };
            (ptr::with_exposed_provenance_mut(base), len, 0)
        }

        fn remap(&self, _: *mut u8, _: usize, _: usize, _: bool) -> *mut u8 {
            ptr::null_mut()
        }

        fn free_part(&self, _: *mut u8, _: usize, _: usize) -> bool {
            false
        }

        fn free(&self, _: *mut u8, _: usize) -> bool {
            false
        }

        fn can_release_part(&self, _: u32) -> bool {
            false
        }

        fn allocates_zeros(&self) -> bool {
            true
        }

        fn page_size(&self) -> usize {
            PAGE
        }
    }

    /// The SDK's global allocator (the `heap` feature, on by default); the module doc says
    /// why.
    struct Heap {
        /// The region, once the first allocation asked for it.
        bump: Cell<Option<Bump>>,
        /// Everything that does not fit there.
        rest: UnsafeCell<Dlmalloc<Grow>>,
    }

    // SAFETY: wasm32 without the `atomics` feature has a single thread.
    unsafe impl Sync for Heap {}

    impl Heap {
        /// Runs `f` on the region (H1).
        fn with<R>(&self, f: impl FnOnce(&mut Bump) -> R) -> R {
            let mut bump = self.bump.get().unwrap_or_else(|| {
                let base = (&raw const __heap_base).addr();
                Bump::new(base, base.next_multiple_of(PAGE))
            });
            let result = f(&mut bump);
            self.bump.set(Some(bump));
            result
        }

        /// dlmalloc, for one call at a time (a single thread, and none of its calls
        /// comes back here).
        #[allow(clippy::mut_from_ref)]
        fn rest(&self) -> &mut Dlmalloc<Grow> {
            // SAFETY: see above: no two of these borrows are ever alive at once.
            unsafe { &mut *self.rest.get() }
        }
    }

    unsafe impl GlobalAlloc for Heap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match self.with(|b| b.take(layout.size(), layout.align())) {
                Some(at) => ptr::with_exposed_provenance_mut(at),
                // SAFETY: the caller's contract, passed on.
                None => unsafe { self.rest().malloc(layout.size(), layout.align()) },
            }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            match self.with(|b| b.take(layout.size(), layout.align())) {
                // The region's bytes may have been handed out and given back before.
                Some(at) => {
                    let at: *mut u8 = ptr::with_exposed_provenance_mut(at);
                    // SAFETY: the region is the allocation's, `layout.size()` bytes.
                    unsafe { ptr::write_bytes(at, 0, layout.size()) };
                    at
                }
                // SAFETY: the caller's contract, passed on; fresh pages are not cleared
                // twice.
                None => unsafe { self.rest().calloc(layout.size(), layout.align()) },
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let at = ptr.addr();
            let given = self.with(|b| b.owns(at).then(|| b.give(at, layout.size())));
            if given.is_none() {
                // SAFETY: not the region's, so dlmalloc's (H1), with its layout.
                unsafe { self.rest().free(ptr, layout.size(), layout.align()) }
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let at = ptr.addr();
            let Some(resized) =
                self.with(|b| b.owns(at).then(|| b.resize(at, layout.size(), new_size)))
            else {
                // SAFETY: not the region's, so dlmalloc's (H1), with its layout.
                return unsafe {
                    self.rest()
                        .realloc(ptr, layout.size(), layout.align(), new_size)
                };
            };
            // In place if it is the last; a shrink stays in place anyway, its tail lost (H3).
            if resized || new_size <= layout.size() {
                return ptr;
            }
            // SAFETY: `new_size` with the old alignment is a valid layout (the caller's
            // contract); the copy is of the old bytes, all inside the new allocation, which
            // starts past every live one of the region (H2) or in dlmalloc's pages.
            unsafe {
                let wanted = Layout::from_size_align_unchecked(new_size, layout.align());
                let moved = self.alloc(wanted);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(ptr, moved, layout.size());
                    self.dealloc(ptr, layout);
                }
                moved
            }
        }
    }

    #[global_allocator]
    static HEAP: Heap = Heap {
        bump: Cell::new(None),
        rest: UnsafeCell::new(Dlmalloc::new_with_allocator(Grow)),
    };
}

#[cfg(test)]
mod tests {
    use super::Bump;
    use quickcheck::{quickcheck, Arbitrary, Gen};

    /// One step on a region.
    #[derive(Debug, Clone)]
    enum Op {
        /// Allocate this many bytes (never 0, as `GlobalAlloc` promises) at 2^this
        /// alignment.
        Take(u16, u8),
        /// Free the live allocation this many places from the newest (modulo how many).
        Give(u8),
        /// Resize the live allocation this many places from the newest to this many bytes.
        Resize(u8, u16),
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut Gen) -> Op {
            match u8::arbitrary(g) % 3 {
                0 => Op::Take(1 + u16::arbitrary(g) % 3000, u8::arbitrary(g) % 8),
                1 => Op::Give(u8::arbitrary(g) % 4),
                _ => Op::Resize(u8::arbitrary(g) % 4, 1 + u16::arbitrary(g) % 3000),
            }
        }
    }

    /// H2: whatever the steps, the live allocations are aligned, inside the region and
    /// disjoint, and an allocation freed last leaves room for the same again.
    fn live_allocations_stay_disjoint(base: u16, len: u16, ops: Vec<Op>) -> bool {
        let (base, end) = (usize::from(base), usize::from(base) + usize::from(len));
        let mut bump = Bump::new(base, end);
        let mut live: Vec<(usize, usize, usize)> = Vec::new(); // start, size, align
        for op in ops {
            match op {
                Op::Take(size, log) => {
                    let (size, align) = (usize::from(size), 1usize << log);
                    if let Some(at) = bump.take(size, align) {
                        live.push((at, size, align));
                    }
                }
                Op::Give(back) if !live.is_empty() => {
                    let index = live.len() - 1 - usize::from(back) % live.len();
                    let (at, size, align) = live.remove(index);
                    let was = bump;
                    bump.give(at, size);
                    // Freed last: the same allocation fits again, at the same place.
                    if bump != was && bump.clone().take(size, align) != Some(at) {
                        return false;
                    }
                }
                Op::Resize(back, new) if !live.is_empty() => {
                    let index = live.len() - 1 - usize::from(back) % live.len();
                    let (at, size, _) = live[index];
                    if bump.resize(at, size, usize::from(new)) {
                        live[index].1 = usize::from(new);
                    }
                }
                Op::Give(_) | Op::Resize(..) => {}
            }
            let inside = live.iter().all(|&(at, size, align)| {
                at % align == 0 && at >= base && at + size <= end && bump.owns(at)
            });
            let mut sorted = live.clone();
            sorted.sort();
            let disjoint = sorted.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0);
            if !inside || !disjoint {
                return false;
            }
        }
        true
    }

    #[test]
    fn bump_allocations_stay_disjoint() {
        quickcheck(live_allocations_stay_disjoint as fn(u16, u16, Vec<Op>) -> bool);
    }

    /// H3: freeing an allocation that is not the last gives nothing back.
    #[test]
    fn only_the_last_allocation_is_given_back() {
        let mut bump = Bump::new(100, 200);
        let first = bump.take(10, 1).unwrap();
        let second = bump.take(10, 1).unwrap();
        bump.give(first, 10);
        assert_eq!(bump.take(80, 1), Some(second + 10));
        assert_eq!(bump.take(1, 1), None);
    }
}
