import Testing

/// The C-library wrappers (libpq, hiredis, libmongoc) against the real services of
/// `scripts/stack.sh up`. One parent suite so `swift test --filter StoreTests` selects them.
@Suite enum StoreTests {}
