/// Shared by every fuzz target (compiled into each target's module by Fuzz/build.sh).

/// Stops the run when an invariant breaks. libFuzzer records the trap as a crash and saves
/// the input under the artifact prefix, so a broken invariant is kept like any crash.
func invariant(_ holds: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !holds() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// The bytes libFuzzer hands a target, as an array (a short copy: inputs are bounded by
/// -max_len).
func fuzzerBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// A fuzzer input that starts with a few control bytes, then the bytes under test:
///
///     [setting] [n] [read size 1] ... [read size n] [stream ...]
///
/// `setting` picks a target's configuration; the n read sizes (0...255, a 0 is an empty
/// read) say how the stream is cut into reads, and the rest of the stream is one last read.
/// A missing control byte counts as 0, so every input is usable and short seeds stay short.
struct ChunkedInput {
    let setting: UInt8
    let stream: [UInt8]
    /// Offsets into `stream` where a read ends, ascending; a repeated offset is an empty read.
    let cuts: [Int]

    init(_ bytes: [UInt8]) {
        var rest = bytes[...]
        setting = rest.popFirst() ?? 0
        let count = Int(rest.popFirst() ?? 0) % 32
        var sizes: [Int] = []
        for _ in 0..<count {
            guard let size = rest.popFirst() else { break }
            sizes.append(Int(size))
        }
        stream = Array(rest)
        var offset = 0
        var cuts: [Int] = []
        for size in sizes {
            offset = min(offset + size, stream.count)
            cuts.append(offset)
        }
        self.cuts = cuts
    }

    /// The stream as the reads the cuts describe, in order; always at least one read.
    var reads: [ArraySlice<UInt8>] {
        var start = 0
        var reads: [ArraySlice<UInt8>] = []
        for cut in cuts + [stream.count] {
            reads.append(stream[start..<cut])
            start = cut
        }
        return reads
    }
}
