import CLinux

/// The process's use of glibc's allocator.
///
/// glibc gives each thread that allocates its own arena, and Dispatch runs a loop's work on
/// whichever worker thread is free, so a session's memory lands in several arenas; what one
/// wave of clients freed in one arena is not reused by the next wave allocating in another,
/// and RSS grows with every wave (measured: +0.6 kB per client on the second wave of 800
/// idle clients with the default arenas, +0.24 with two, nothing with one). Small
/// allocations are served from per-thread caches without the arena lock, so one arena
/// costs the loops no contention worth measuring.
public enum Allocator {
    /// One arena for the whole process. Call before any thread is started.
    public static func useSingleArena() {
        _ = mallopt(M_ARENA_MAX, 1)
    }

    /// Returns freed memory at the top of the heap and in free pages to the system (RSS
    /// drops back after a wave of clients has gone). Costs a walk of the heap: call it when
    /// idle, not per connection.
    public static func returnFreeMemory() {
        _ = malloc_trim(0)
    }
}
