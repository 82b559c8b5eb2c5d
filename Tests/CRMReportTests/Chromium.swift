import CRMTestSupport
import Foundation

/// Debian's headless Chromium, run as a child process with a bounded wait.
struct Chromium {
    let executable: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// `$CHROMIUM` when set (and only it), else `chromium` or `chromium-browser` on the PATH or in
    /// /usr/bin; nil when absent.
    static func find() -> Chromium? {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let configured = environment["CHROMIUM"], !configured.isEmpty {
            return FileManager.default.isExecutableFile(atPath: configured) ? Chromium(executable: configured) : nil
        }
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for name in ["chromium", "chromium-browser"] {
            candidates += path.map { "\($0)/\(name)" }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }.map(Chromium.init(executable:))
    }

    /// The flags every run uses: headless, no sandbox (tests may run as root), no GPU, a throw-away
    /// profile so concurrent runs never share one.
    func baseArguments(profile: URL) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-dev-shm-usage",
         "--user-data-dir=\(profile.path)"]
    }

    /// A screenshot of `page` at `width`×`height` into `output`.
    func screenshot(_ page: URL, to output: URL, width: Int, height: Int, workDir: URL) throws {
        _ = try run(baseArguments(profile: workDir.appendingPathComponent("profile-shot")) + [
            "--screenshot=\(output.path)", "--window-size=\(width),\(height)", page.absoluteString,
        ], workDir: workDir)
    }

    /// The DOM after the page loaded, serialised.
    func dumpDOM(_ page: URL, workDir: URL) throws -> String {
        try run(baseArguments(profile: workDir.appendingPathComponent("profile-dom")) + ["--dump-dom", page.absoluteString], workDir: workDir)
    }

    /// Runs Chromium, waiting at most `limit`; returns its standard output.
    private func run(_ arguments: [String], workDir: URL, limit: Duration = .seconds(90)) throws -> String {
        let stdoutFile = workDir.appendingPathComponent("chromium-\(UUID().uuidString).out")
        let stderrFile = workDir.appendingPathComponent("chromium-\(UUID().uuidString).err")
        let process = try ChildProcess.start(
            URL(fileURLWithPath: executable), arguments: arguments, output: .appending(to: stdoutFile), errors: .appending(to: stderrFile))
        let seconds = Double(limit.components.seconds)
        guard let status = process.exit.wait(timeout: .now() + seconds) else {
            process.send(SIGTERM)
            _ = process.exit.wait(timeout: .now() + 5)
            throw Failure("chromium did not finish within \(limit): \(arguments.joined(separator: " "))")
        }
        let output = (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
            throw Failure("chromium exited with \(status): \(errors.suffix(2_000))")
        }
        return output
    }
}
