import BerthController
import BerthCore
import Foundation
import Synchronization

/// Live progress of an execution: a line per finished action and, on a terminal, a status line
/// naming what is in flight; plain lines only when standard output is not a terminal.
final class ProgressPrinter: Sendable {
    private struct State {
        var running: [Int: Action] = [:]
        var finished = 0
    }

    private let interactive: Bool
    private let state = Mutex(State())

    init(interactive: Bool = isatty(STDOUT_FILENO) == 1) {
        self.interactive = interactive
    }

    func handle(_ event: ExecutionProgress) {
        let output: String = state.withLock { state in
            var text = interactive ? "\r\u{1B}[K" : ""
            switch event {
            case .started(let action):
                state.running[action.id] = action
                if !interactive, case .awaitReady = action.operation { text += "… \(action.operation.summary)\n" }
            case .finished(let result):
                state.running[result.action.id] = nil
                state.finished += 1
                text += "\(result.action) \(result.outcome.summary) \(Self.seconds(result.duration))\n"
            }
            if interactive, !state.running.isEmpty {
                let names = state.running.values.sorted { $0.id < $1.id }.map(\.operation.summary)
                text += "  \(state.finished) done, in progress: \(names.joined(separator: "; "))"
            }
            return text
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return String(format: "(%.1fs)", Double(milliseconds) / 1000)
    }
}
