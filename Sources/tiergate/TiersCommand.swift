import ArgumentParser
import Foundation
import TierModel

/// `tiergate tiers [--tiers FILE]`: the tier matrix in force as a complete `--tiers` file.
/// A file must name every field of every tier, so operators start from this output (the
/// built-in matrix) rather than from the design text; with `--tiers` it checks a file as
/// `serve` would and prints it with the defaults it leaves out filled in.
struct TiersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiers",
        abstract: "Print the tier matrix (built-in, or a --tiers file completed) as JSON.")

    @Option(help: "A tier matrix file to check and print complete. Env: TIERGATE_TIERS.")
    var tiers: String?

    func run() throws {
        guard let tiers else { return print(TierMatrix.builtIn.json) }
        do {
            print(try TierMatrix.load(json: try Data(contentsOf: URL(fileURLWithPath: tiers)), path: tiers).json)
        } catch {
            FileHandle.standardError.write(Data("tiergate tiers: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
