import ArgumentParser
import Foundation

/// Turns `TIERGATE_*` environment variables into command-line options for the subcommand
/// being run, unless the option is already on the command line.
///
/// Each option's variable is its long name upper-cased with dashes as underscores, prefixed
/// `TIERGATE_` (`--login-timeout` is `TIERGATE_LOGIN_TIMEOUT`). The names come from the
/// subcommand's own definition (ArgumentParser's description of it), so an option added to
/// a command is read from the environment with no list to keep beside it. A flag is set by
/// `TIERGATE_<NAME>=1` (or true, yes, on).
enum EnvironmentArguments {
    /// Long names ArgumentParser adds itself; never read from the environment.
    private static let builtIn: Set<String> = ["help", "version", "experimental-dump-help"]

    static func variableName(option: String) -> String {
        "TIERGATE_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    static func merge(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                      subcommands: [any ParsableCommand.Type] = TierGateCommand.configuration.subcommands) -> [String] {
        guard let subcommand = arguments.first,
              let command = subcommands.first(where: { $0.configuration.commandName == subcommand })
        else { return arguments }
        let names = longNames(of: command)
        var merged = arguments
        for name in names.options {
            guard let value = environment[variableName(option: name)], !value.isEmpty else { continue }
            let given = arguments.contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
            if !given { merged += ["--\(name)", value] }
        }
        for name in names.flags {
            guard let value = environment[variableName(option: name)],
                  ["1", "true", "yes", "on"].contains(value.lowercased()) else { continue }
            if !arguments.contains("--\(name)") { merged.append("--\(name)") }
        }
        return merged
    }

    /// The long names of `command`'s options (which take a value) and flags, in declaration order.
    static func longNames(of command: any ParsableCommand.Type) -> (options: [String], flags: [String]) {
        guard let info = try? JSONDecoder().decode(DumpedHelp.self, from: Data(command._dumpHelp().utf8)) else {
            return ([], [])
        }
        var options: [String] = []
        var flags: [String] = []
        for argument in info.command.arguments ?? [] {
            let long = (argument.names ?? []).filter { $0.kind == "long" && !builtIn.contains($0.name) }.map(\.name)
            switch argument.kind {
            case "option": options += long
            case "flag": flags += long
            default: continue
            }
        }
        return (options, flags)
    }

    /// The part of ArgumentParser's `--experimental-dump-help` description read here.
    private struct DumpedHelp: Decodable {
        struct Command: Decodable { var arguments: [Argument]? }
        struct Argument: Decodable {
            var kind: String
            var names: [Name]?
        }
        struct Name: Decodable {
            var kind: String
            var name: String
        }
        var command: Command
    }
}
