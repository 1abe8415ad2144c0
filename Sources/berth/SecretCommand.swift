import ArgumentParser
import BerthController
import BerthCore
import Foundation

/// `berth secret …`: age-encrypted env values for manifests kept in git. There is deliberately
/// no `decrypt`: plaintext only ever goes from the controller to the engine, never to a terminal.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Encrypt secrets for manifests (age-encrypted env values).",
        subcommands: [Encrypt.self]
    )

    /// `berth secret encrypt --recipient R [--recipient R …] [--recipients-file F] [--env NAME]`
    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "encrypt",
            abstract: "Encrypt a secret read from standard input with age and print the armored block for an env value.",
            discussion: """
                The secret is read from standard input (never from an argument), at most 64 KiB; one final \
                newline is removed when the controller decrypts it. The block is printed indented, to paste \
                under `NAME: |` in a container's env; with --env NAME the `NAME: |` line is printed too. \
                Example: printf %s "$TOKEN" | berth secret encrypt --recipient age1… --env API_TOKEN
                """
        )

        @Option(name: .customLong("recipient"), help: "An age recipient (public key, age1…, or an SSH public key) the secret is encrypted to (repeatable).")
        var recipients: [String] = []
        @Option(name: .customLong("recipients-file"), help: "A file of age recipients, one per line (repeatable).")
        var recipientsFiles: [String] = []
        @Option(help: "Print `NAME: |` before the block, ready to paste into env.") var env: String?
        @Option(help: "Spaces before each line of the block.") var indent: Int = 2

        /// The most standard input may hold: a `fromFile` value's limit.
        static let limit = 64 * 1024

        func validate() throws {
            guard !recipients.isEmpty || !recipientsFiles.isEmpty else {
                throw ArgumentParser.ValidationError("give at least one --recipient or --recipients-file")
            }
            if let env {
                do throws(BerthCore.ValidationError) {
                    try EnvironmentName.validate(env)
                } catch {
                    throw ArgumentParser.ValidationError("--env: \(error)")
                }
            }
            guard (1...32).contains(indent) else { throw ArgumentParser.ValidationError("--indent is 1 to 32, found \(indent)") }
        }

        func run() async throws {
            let plaintext = try Self.readStandardInput()
            let armored: String
            do throws(AgeError) {
                armored = try await AgeTool.encrypt(plaintext, recipients: recipients, recipientsFiles: recipientsFiles)
            } catch {
                throw CommandFailure("cannot encrypt: \(error.message)")
            }
            let margin = String(repeating: " ", count: indent)
            if let env { print("\(env): |") }
            for line in armored.split(separator: "\n") { print(margin + line) }
        }

        /// Standard input, refused when empty or larger than ``limit``.
        private static func readStandardInput() throws -> [UInt8] {
            var bytes: [UInt8] = []
            while let chunk = try FileHandle.standardInput.read(upToCount: limit + 1 - bytes.count), !chunk.isEmpty {
                bytes += chunk
                guard bytes.count <= limit else { throw CommandFailure("the secret on standard input is larger than 64 KiB") }
            }
            guard !bytes.isEmpty else { throw CommandFailure("standard input is empty; pipe the secret in, e.g. printf %s \"$TOKEN\" | berth secret encrypt …") }
            return bytes
        }
    }
}
