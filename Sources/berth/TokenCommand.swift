import ArgumentParser
import BerthCore
import BerthStore
import Foundation
import Logging

/// `berth token …`: API tokens, made and revoked directly in the store (an operator's job).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// `berth token create --name N --scope S [--project P] [--expires D]`
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a token and print it once; only its hash is stored.",
            discussion: "Scopes: admin, read, jobs:write, resources:write, jobs:submit-template (repeat --scope for several)."
        )

        @OptionGroup var controller: ControllerOptions
        @Option(help: "A name to recognise the token by.") var name: String
        @Option(help: "What the token may do (repeatable): admin, read, jobs:write, resources:write, jobs:submit-template.") var scope: [String]
        @Option(help: "Limit the token to this one project.") var project: String?
        @Option(help: "The token stops working after this long, e.g. 90d.") var expires: String?
        @Flag(help: "Print the token and its record as JSON.") var json = false

        func validate() throws {
            let known: Set<TokenScope> = [.admin, .read, .jobsWrite, .resourcesWrite, .jobsSubmitTemplate]
            for text in scope where !known.contains(TokenScope(rawValue: text)) {
                throw ArgumentParser.ValidationError("unknown scope \"\(text)\"; use admin, read, jobs:write, resources:write or jobs:submit-template")
            }
            guard !name.isEmpty, name.count <= 100 else { throw ArgumentParser.ValidationError("--name takes 1 to 100 characters") }
        }

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let now = Date()
            let expiresAt = try expires.map { now.addingTimeInterval(try parseSpan($0, option: "--expires").seconds) }
            let (token, record) = try await controller.withStore { store in
                try await store.createToken(name: name, scopes: scope.map(TokenScope.init(rawValue:)), project: project, expiresAt: expiresAt, now: now)
            }
            if json {
                try printJSON(CreatedToken(token: token, record: record))
            } else {
                print(token)
                var standardError = StandardError()
                print("token \(record.id) (\(record.name)) created; it is shown only now", to: &standardError)
            }
        }

        struct CreatedToken: Encodable {
            var token: String
            var record: TokenRecord
        }
    }

    /// `berth token list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secret).")

        @OptionGroup var controller: ControllerOptions
        @Flag(help: "Print the tokens as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let tokens = try await controller.withStore { store in try await store.tokens() }
            if json {
                try printJSON(tokens)
                return
            }
            guard !tokens.isEmpty else {
                print("No tokens.")
                return
            }
            var rows = [["ID", "NAME", "SCOPES", "PROJECT", "EXPIRES", "LAST USED", "REVOKED"]]
            for token in tokens {
                rows.append([
                    token.id, token.name, token.scopes.map(\.rawValue).joined(separator: ","), token.project ?? "*",
                    token.expiresAt?.formatted(.iso8601) ?? "never", token.lastUsedAt?.formatted(.iso8601) ?? "-", token.revokedAt?.formatted(.iso8601) ?? "-",
                ])
            }
            print(textTable(rows))
        }
    }

    /// `berth token revoke ID`
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a token; requests carrying it are refused from now on.",
            discussion: "Exit status: 0 revoked, 1 no such token (or already revoked)."
        )

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The token's id (from `berth token list`).") var id: String

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let revoked = try await controller.withStore { store in try await store.revokeToken(id, now: Date()) }
            guard revoked else { throw CommandFailure("no token \(id) that is not already revoked") }
            print("revoked \(id)")
        }
    }
}
