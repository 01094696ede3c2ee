import Foundation
import Testing
@testable import PgBouncerConfig

@Suite struct AtomicFileWriterTests {
    struct SimulatedCrash: Error {}

    @Test func write_createsThenReplacesTheFile() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/databases.ini"
        try AtomicFileWriter().write("one\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\n")
        try AtomicFileWriter().write("two\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["databases.ini"])
    }

    @Test func interruptedBetweenWriteAndRename_leavesTheOldFileIntact() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/databases.ini"
        try AtomicFileWriter().write("old\n", to: path)
        let writer = AtomicFileWriter { temporary in
            // The new bytes are complete in the temporary file, next to the target...
            #expect(try String(contentsOfFile: temporary, encoding: .utf8) == "new\n")
            #expect((temporary as NSString).deletingLastPathComponent == dir)
            throw SimulatedCrash()
        }
        #expect(throws: AtomicWriteError.self) { try writer.write("new\n", to: path) }
        // ...but the target still holds the old ones, and no temporary file is left behind.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["databases.ini"])
    }

    @Test func replacement_keepsTheOldMode() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/databases.ini"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o640)
        try AtomicFileWriter().write("new\n", to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    @Test func missingDirectory_isAnErrorNamingThePath() {
        #expect {
            try AtomicFileWriter().write("x", to: "/nonexistent-dir-tiergate/databases.ini")
        } throws: { error in
            "\(error)".contains("/nonexistent-dir-tiergate/databases.ini")
        }
    }
}
