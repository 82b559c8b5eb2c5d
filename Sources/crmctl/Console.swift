import CRMReport
import Foundation
import Synchronization

/// Standard error for people: notes on their own line, and one status line redrawn in place when
/// standard error is a terminal.
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) == 1

    static func note(_ text: String) {
        write(text + "\n")
    }

    /// Redraws the status line (terminals only), cut to the terminal's width so that it never wraps
    /// (a wrapped line could not be redrawn in place).
    static func status(_ text: String) {
        write("\r\u{1B}[2K" + DisplayWidth.truncate(text, to: max(20, columns - 1)))
    }

    /// The terminal's width in columns (80 when it cannot be told).
    static var columns: Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Asks `probe` every 250 ms until it reports done, showing its lines: redrawn in place on a
    /// terminal, otherwise printed every 5 s and once at the end. Gives up after `patience` with
    /// `failure` and the last lines.
    static func waitUntil(patience: Duration = .seconds(1_800), failure: String,
                          probe: () async throws -> (lines: [String], done: Bool)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        var lastPrinted = clock.now - .seconds(60)
        while true {
            let (lines, done) = try await probe()
            if isTerminal {
                status(lines.joined(separator: " | "))
            } else if clock.now - lastPrinted >= .seconds(5) || done {
                lines.forEach(note)
                lastPrinted = clock.now
            }
            if done { break }
            guard clock.now < deadline else { throw CRMCtlError("\(failure): \(lines.joined(separator: "; "))") }
            try await Task.sleep(for: .milliseconds(250))
        }
        if isTerminal { endStatus() }
    }

    /// Ends the status line, leaving its last text on screen.
    static func endStatus() {
        write("\n")
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The loading progress bar: counts updated as chunks finish, the line redrawn twice a second on a
/// terminal (so the time left moves between chunks), or printed every few seconds into a log.
final class ProgressDisplay: Sendable {
    private struct Counts {
        var done: Int
        var doneThisRun = 0
        var events = 0
        var lastLogged: ContinuousClock.Instant?
        var loggedDone = false
    }

    private let total: Int
    private let started = ContinuousClock.now
    private let counts: Mutex<Counts>

    init(total: Int, alreadyDone: Int) {
        self.total = total
        counts = Mutex(Counts(done: alreadyDone))
    }

    func add(customers: Int, events: Int) {
        counts.withLock {
            $0.done += customers
            $0.doneThisRun += customers
            $0.events += events
        }
        if !Console.isTerminal { logIfDue(force: false) }
    }

    /// Redraws until cancelled (terminals only).
    func tick() async {
        guard Console.isTerminal else { return }
        while !Task.isCancelled {
            Console.status(line())
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    func finish() {
        if Console.isTerminal {
            Console.status(line())
            Console.endStatus()
        } else {
            logIfDue(force: true)
        }
    }

    private func line() -> String {
        let counts = self.counts.withLock { $0 }
        return ProgressLine.render(done: counts.done, total: total, doneThisRun: counts.doneThisRun, events: counts.events,
                                   elapsed: (ContinuousClock.now - started).seconds)
    }

    /// Prints the line when 5 s passed since the last one, or when forced; the finished line once.
    private func logIfDue(force: Bool) {
        let now = ContinuousClock.now
        let total = self.total
        let due = counts.withLock { counts -> Bool in
            guard !counts.loggedDone, force || counts.done >= total || counts.lastLogged.map({ now - $0 >= .seconds(5) }) ?? true else { return false }
            counts.lastLogged = now
            counts.loggedDone = counts.done >= total
            return true
        }
        if due { Console.note(line()) }
    }
}
