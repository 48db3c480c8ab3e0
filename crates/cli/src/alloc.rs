//! The allocator, and how soon it hands freed memory back to the system.
//!
//! mimalloc keeps freed pages for a second before it returns them (its
//! `purge_delay`, 1000 ms): a hunt frees a few MiB of buffers per file read,
//! so over a folder of thousands of files the pages waiting to be returned
//! made peak memory grow with the input (a strict-rule hunt: 23 MiB over 870
//! files, 36-45 over ten times as many; the whole SigmaHQ set 152 MiB). With
//! a delay of 1 ms it stays at 23-27 MiB and 132 MiB, for the same CPU.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_long};

// Readers allocate per event on every worker thread; glibc's allocator spends a
// quarter of an EVTX hunt in malloc/free there (perf), mimalloc far less.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`'s place in `mi_option_e` (mimalloc.h, v3, which
/// the `mimalloc` crate builds), and its default there: an option that does
/// not read as that default is not the one meant, and is left alone.
const PURGE_DELAY: c_int = 15;
const PURGE_DELAY_DEFAULT: c_long = 1000;
const PURGE_DELAY_WANTED: c_long = 1;

extern "C" {
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Sets the purge delay, unless the environment set it (mimalloc reads
/// `MIMALLOC_PURGE_DELAY`, formerly `MIMALLOC_RESET_DELAY`).
pub fn return_freed_memory_promptly() {
    if ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return;
    }
    // SAFETY: both functions take an option index and a value, check the
    // index against the number of options and touch nothing but that
    // option's slot in mimalloc's table; they may be called at any time.
    unsafe {
        if mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            mi_option_set(PURGE_DELAY, PURGE_DELAY_WANTED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mimalloc update that moved or changed the option would leave the
    /// delay alone (and peak memory would grow again): caught here.
    #[test]
    fn the_purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some()
            || std::env::var_os("MIMALLOC_RESET_DELAY").is_some()
        {
            return;
        }
        // Nothing else in the test binary sets it (`main` does, not run here).
        // SAFETY: as above.
        let before = unsafe { mi_option_get(PURGE_DELAY) };
        assert_eq!(
            before, PURGE_DELAY_DEFAULT,
            "option {PURGE_DELAY} is not mimalloc's purge delay"
        );
        return_freed_memory_promptly();
        // SAFETY: as above.
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, PURGE_DELAY_WANTED);
    }
}
