import CRMRPC
import Foundation
import Testing

/// `crmctl demo` and `crmctl report` against the real executables: a small brokerage loaded,
/// interrupted with SIGINT after a few chunks, resumed to the end of the walkthrough; then the
/// head-office report written from what the demo left.
@Suite(.serialized) struct DemoCommandTests {
    static let demoArguments = ["--customers", "400", "--seed", "7", "--chunk-size", "20", "--trees", "20"]

    @Test func theDemoResumesAfterAnInterruptionAndTheReportShowsItsCampaign() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let profiles = ServiceProcess(service: "profiles", workDir: workDir)
        let products = ServiceProcess(service: "products", workDir: workDir)
        let matching = ServiceProcess(service: "matching", workDir: workDir)
        defer { for process in [matching, products, profiles] { process.terminate() } }
        try await profiles.start()
        try await products.start(peers: ["matching": 1])
        try await matching.start(peers: ["profiles": profiles.port, "products": products.port])
        products.terminate()
        try await products.start(port: products.port, peers: ["matching": matching.port])

        let topology = workDir.appendingPathComponent("topology.json")
        try """
        {"profiles": ["127.0.0.1:\(profiles.port)"], "products": ["127.0.0.1:\(products.port)"], "matching": ["127.0.0.1:\(matching.port)"]}
        """.write(to: topology, atomically: true, encoding: .utf8)
        let state = workDir.appendingPathComponent("demo-state.json")
        let common = ["--topology", topology.path, "--data-dir", workDir.path]
        let demo = ["demo"] + Self.demoArguments + ["--state", state.path] + common

        // Interrupted once a few chunks are recorded.
        let first = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), demo, workDir: workDir, name: "demo-1")
        var recorded = 0
        for _ in 0..<6_000 where recorded < 3 {
            recorded = Self.recordedChunks(state)
            if recorded < 3 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(recorded >= 3, "the state file never recorded three chunks: \(first.standardError)")
        first.interrupt()
        let interrupted = try await first.exit(within: .seconds(60))
        #expect(interrupted == 130, "exit \(interrupted): \(first.standardError)")
        #expect(first.standardError.contains("interrupted ("), "\(first.standardError)")
        let loadedBefore = Self.recordedChunks(state)
        #expect(loadedBefore < 20, "the first run loaded every chunk before the interruption")

        // Resumed to the end.
        let second = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), demo, workDir: workDir, name: "demo-2")
        let finished = try await second.exit(within: .seconds(900))
        #expect(finished == 0, "exit \(finished): \(second.standardError.suffix(3_000))")
        #expect(second.standardError.contains("resuming: \(loadedBefore * 20) of 400 customers were loaded by an earlier run"), "\(second.standardError)")
        let walkthrough = second.standardOutput
        for heading in ["━━ 1 · 客户360°视图", "━━ 2 · 目标客户", "━━ 3 · 适配产品", "━━ 4 · 禁止销售", "━━ 5 · 精准营销活动", "━━ 6 · 模型评估", "━━ 7 · 客户经理月度结算单"] {
            #expect(walkthrough.contains(heading), "no \(heading) in:\n\(walkthrough)")
        }
        #expect(walkthrough.contains("DecideSuitability → PROHIBITED"))
        #expect(walkthrough.contains("refused by PlaceOrder: FAILED_PRECONDITION"))
        #expect(walkthrough.contains("targeted (hit rate)") && walkthrough.contains("untargeted eligible (baseline)"))
        #expect(walkthrough.contains("compensation figures: not loaded in this demo"))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: state)) as? [String: Any]
        #expect((saved?["chunks"] as? [String: Any])?.count == 20)
        #expect((saved?["campaigns"] as? [Any])?.count == 1)

        // The head-office report from what the demo left.
        let html = workDir.appendingPathComponent("report.html")
        let report = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"),
                                        ["report", "--html", html.path, "--state", state.path] + common, workDir: workDir, name: "report")
        let reported = try await report.exit(within: .seconds(300))
        #expect(reported == 0, "exit \(reported): \(report.standardError)")
        let page = try String(contentsOf: html, encoding: .utf8)
        for id in ["branch-customers", "tier-assets", "campaign-hit-rates", "model-precision", "class-asset_tier"] {
            #expect(page.contains("class=\"chart\" id=\"\(id)\""), "no chart \(id)")
        }
        #expect(page.contains("Demo campaign"))
        #expect(page.contains("compensation figures: not loaded in this demo"))
    }

    static func recordedChunks(_ state: URL) -> Int {
        guard let data = try? Data(contentsOf: state), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return 0 }
        return (object["chunks"] as? [String: Any])?.count ?? 0
    }
}

/// A command run as a child process with its output in files, awaited without blocking a thread.
final class CommandProcess: @unchecked Sendable {
    private let process = Process()
    private let stdoutFile: URL
    private let stderrFile: URL
    private let exited: AsyncStream<Int32>

    init(_ executable: URL, _ arguments: [String], workDir: URL, name: String) throws {
        stdoutFile = workDir.appendingPathComponent("\(name).out")
        stderrFile = workDir.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = ServiceProcess.packageRoot
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardInput = FileHandle.nullDevice
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        exited = stream
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try process.run()
    }

    var standardOutput: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    func interrupt() {
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
    }

    /// The exit status; the process is killed (and this throws) when it runs longer than `limit`.
    func exit(within limit: Duration) async throws -> Int32 {
        let exited = self.exited
        let status = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await status in exited { return status }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let status else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw RPCError(.deadlineExceeded, "\(process.arguments?.first ?? "command") did not exit within \(limit): \(standardError.suffix(2_000))")
        }
        return status
    }
}
