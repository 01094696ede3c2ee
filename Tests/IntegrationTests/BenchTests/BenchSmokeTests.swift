import Foundation
import Testing

/// The benchmark is not part of the test suite and asserts nothing about speed,
/// but its smoke mode runs here so the script itself cannot rot.
@Suite(.serialized)
struct BenchSmokeTests {
    @Test func benchSmokeMode_runsEveryStepAgainstTheBuiltBinary() throws {
        let result = try Command.run("bash", [Stack.repoRoot.appendingPathComponent("bench/run.sh").path,
                                              "--smoke", "--bin", TierGateBinary.url.path, "--no-stack-up"],
                                     timeout: 600)
        #expect(result.status == 0, "\(result.stdout.suffix(2000))\n\(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("bench smoke: OK") || result.stderr.contains("bench smoke: OK"))
    }
}
