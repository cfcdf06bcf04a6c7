//! One allocator for Rust and for tree-sitter's C core.
//!
//! The analysis is allocation-heavy on both sides: tree-sitter builds and frees
//! a tree per file, the summaries are many small strings. mimalloc is markedly
//! faster than glibc's malloc at that, so the binary makes it the global
//! allocator and routes tree-sitter's allocations to it too. It is built without
//! transparent huge pages (the `no_thp` feature): given them, every 2 MiB region
//! it touched stayed resident whole, a fifth of the analysis's peak memory.

use std::ffi::c_void;
use std::sync::Once;

unsafe extern "C" fn ts_malloc(size: usize) -> *mut c_void {
    let p = unsafe { libmimalloc_sys::mi_malloc(size) };
    if p.is_null() && size != 0 {
        std::process::abort(); // tree-sitter requires allocation never to fail
    }
    p
}

unsafe extern "C" fn ts_calloc(count: usize, size: usize) -> *mut c_void {
    let Some(total) = count.checked_mul(size) else { std::process::abort() };
    let p = unsafe { ts_malloc(total) };
    if !p.is_null() {
        unsafe { std::ptr::write_bytes(p.cast::<u8>(), 0, total) };
    }
    p
}

unsafe extern "C" fn ts_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let p = unsafe { libmimalloc_sys::mi_realloc(ptr, size) };
    if p.is_null() && size != 0 {
        std::process::abort();
    }
    p
}

unsafe extern "C" fn ts_free(ptr: *mut c_void) {
    unsafe { libmimalloc_sys::mi_free(ptr) }
}

/// mimalloc's option for how long freed pages stay committed, `mi_option_purge_delay`:
/// the bindings do not name it; it comes right before `mi_option_use_numa_nodes`
/// in the C enum (of both mimalloc versions the crate builds).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// Give freed pages back to the system at once instead of after 10 ms: the
/// analysis frees much of what parsing and decoding used while it builds the call
/// graph and the report, and the peak resident memory is what users see
/// (a warm standard-library run peaks 4 MiB lower, at no measurable cost).
pub fn purge_freed_memory_at_once() {
    // SAFETY: setting an option is allowed at any time; the value is in range.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

/// Make tree-sitter allocate through mimalloc. Call it first thing in `main`,
/// before anything is parsed; later calls do nothing.
pub fn use_mimalloc_for_tree_sitter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let allocator =
            tree_sitter::Allocator { malloc: ts_malloc, calloc: ts_calloc, realloc: ts_realloc, free: ts_free };
        // SAFETY: the four functions are one allocator family (mimalloc), never return
        // null for non-zero sizes, return malloc-aligned memory, and `Once` makes this
        // the only call; callers run it before any tree-sitter object exists.
        unsafe { tree_sitter::set_allocator(Some(allocator)) };
    });
}
