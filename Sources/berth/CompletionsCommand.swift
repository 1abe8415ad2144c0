import ArgumentParser

/// `berth completions SHELL`: the shell completion script for `berth`, generated from the same
/// definitions as its help.
struct CompletionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
            bash: berth completions bash > /etc/bash_completion.d/berth (or ~/.local/share/bash-completion/completions/berth)
            zsh:  berth completions zsh > "${fpath[1]}/_berth"
            fish: berth completions fish > ~/.config/fish/completions/berth.fish
            """
    )

    /// The shells ArgumentParser writes completion scripts for.
    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish
    }

    @Argument(help: "bash, zsh or fish.") var shell: Shell

    func run() throws {
        guard let completionShell = CompletionShell(rawValue: shell.rawValue) else { throw CommandFailure("no completion script for \(shell.rawValue)") }
        print(Berth.completionScript(for: completionShell))
    }
}
