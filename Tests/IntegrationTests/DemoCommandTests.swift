import CRMProtos
import CRMReport
import CRMRPC
import CRMTestSupport
import Foundation
import Testing

/// `crmctl demo` and `crmctl report` against the real executables: a small brokerage loaded,
/// interrupted with SIGINT after a few chunks, resumed to the end of the walkthrough (compensation
/// settling the generated months, step 7 a real statement), run once more to nothing new; then the
/// head-office report written from what the demo left, with the month's best paid managers.
@Suite(.serialized) struct DemoCommandTests {
    static let demoArguments = ["--customers", "400", "--seed", "7", "--chunk-size", "20", "--trees", "20"]

    @Test func theDemoResumesAfterAnInterruptionAndTheReportShowsItsCampaign() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let profiles = ServiceProcess(service: "profiles", workDir: workDir)
        let products = ServiceProcess(service: "products", workDir: workDir)
        let matching = ServiceProcess(service: "matching", workDir: workDir)
        let compensation = ServiceProcess(service: "compensation", workDir: workDir)
        defer { for process in [compensation, matching, products, profiles] { process.terminate() } }
        try await profiles.start()
        try await products.start(peers: ["matching": 1])
        try await matching.start(peers: ["profiles": profiles.port, "products": products.port])
        products.terminate()
        try await products.start(port: products.port, peers: ["matching": matching.port])
        try await compensation.start(peers: ["profiles": profiles.port, "products": products.port])

        let topology = workDir.appendingPathComponent("topology.json")
        try """
        {"profiles": ["127.0.0.1:\(profiles.port)"], "products": ["127.0.0.1:\(products.port)"], "matching": ["127.0.0.1:\(matching.port)"],
         "compensation": ["127.0.0.1:\(compensation.port)"]}
        """.write(to: topology, atomically: true, encoding: .utf8)
        let state = workDir.appendingPathComponent("demo-state.json")
        let common = ["--topology", topology.path, "--data-dir", workDir.path]
        let demo = ["demo"] + Self.demoArguments + ["--state", state.path] + common

        // Interrupted once three chunks are recorded: the run pauses there, so the interruption
        // comes at the same point however fast or slow the machine is.
        let first = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), demo + ["--pause-after-chunks", "3"],
                                       workDir: workDir, name: "demo-1")
        try await waitUntil(every: .milliseconds(20)) { first.standardError.contains("paused after 3 chunks") || !first.isRunning }
        #expect(Self.recordedChunks(state) == 3, "\(first.standardError)")
        first.interrupt()
        let interrupted = await first.exit()
        #expect(interrupted == 130, "exit \(interrupted): \(first.standardError)")
        #expect(first.standardError.contains("interrupted ("), "\(first.standardError)")
        let loadedBefore = Self.recordedChunks(state)
        #expect(loadedBefore == 3, "the first run recorded \(loadedBefore) chunks before the interruption")

        // Resumed to the end.
        let second = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), demo, workDir: workDir, name: "demo-2")
        let finished = await second.exit()
        #expect(finished == 0, "exit \(finished): \(second.standardError.suffix(3_000))")
        #expect(second.standardError.contains("resuming: \(loadedBefore * 20) of 400 customers were loaded by an earlier run"), "\(second.standardError)")
        let walkthrough = second.standardOutput
        for heading in ["━━ 1 · 客户360°视图", "━━ 2 · 目标客户", "━━ 3 · 适配产品", "━━ 4 · 禁止销售", "━━ 5 · 精准营销活动", "━━ 6 · 模型评估", "━━ 7 · 客户经理月度结算单"] {
            #expect(walkthrough.contains(heading), "no \(heading) in:\n\(walkthrough)")
        }
        #expect(walkthrough.contains("DecideSuitability → PROHIBITED"))
        #expect(walkthrough.contains("refused by PlaceOrder: FAILED_PRECONDITION"))
        #expect(walkthrough.contains("targeted (hit rate)") && walkthrough.contains("untargeted eligible (baseline)"))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: state)) as? [String: Any]
        #expect((saved?["chunks"] as? [String: Any])?.count == 20)
        #expect((saved?["campaigns"] as? [Any])?.count == 1)
        #expect(saved?["compensationLoaded"] as? Bool == true)

        // Compensation: every generated month settled in order (warm-up first), then step 7 prints
        // the held-out month's statement as compensation holds it, adding up.
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [compensation.endpoint], security: compensation.clientSecurity, token: "dev-admin-token"))
        defer { Task { await client.close() } }
        for month in ["2025-08", "2025-11", "2026-10"] {
            #expect(second.standardError.contains("settled \(month): "), "\(month) not settled: \(second.standardError.suffix(3_000))")
        }
        let step7 = try #require(Self.step(7, of: walkthrough))
        #expect(!walkthrough.contains("not loaded in this demo"))
        #expect(step7.contains("✓ adds up"), "\(step7)")
        let managerID = try #require(Self.value(after: "客户经理 Manager", in: step7)?.split(separator: " ").first.map(String.init), "\(step7)")
        let statement = try await Self.statement(managerID: managerID, month: "2026-10", client: client)
        #expect(Self.value(after: "total 应发合计", in: step7) == Format.yuan(fen: statement.totalFen), "\(step7)")
        #expect(Self.value(after: "gross (subtotal)", in: step7) == Format.yuan(fen: statement.subtotalFen))
        #expect(step7.contains("\(Format.count(statement.lineCount)) income lines"))
        #expect(step7.contains("scheme \(statement.ruleVersion.grade) v\(statement.ruleVersion.version)"))
        #expect(statement.lineCount > 0, "the featured customer's manager earned nothing in the held-out month")
        // The statement adds up from its lines: each source's lines to its total, the commission
        // lines to the bands' base, the bands and the other sources' pay to the subtotal, the
        // coefficient lines to the total.
        for source in statement.sourceTotals {
            let lines = statement.lines.filter { $0.source == source.source }
            #expect(lines.count == Int(source.itemCount))
            #expect(lines.reduce(Int64(0)) { $0 + $1.incomeFen } == source.incomeFen)
            #expect(lines.reduce(Int64(0)) { $0 + $1.payFen } == source.payFen)
        }
        let commissionLines = statement.lines.filter { $0.source == .cashCommission || $0.source == .marginCommission }
        #expect(commissionLines.reduce(Int64(0)) { $0 + $1.incomeFen } == statement.netCommissionFen)
        #expect(statement.commissionBands.reduce(Int64(0)) { $0 + $1.portionFen } == statement.netCommissionFen)
        #expect(statement.commissionBands.reduce(Int64(0)) { $0 + $1.payFen } == statement.commissionPayFen)
        let linePay = statement.lines.reduce(Int64(0)) { $0 + $1.payFen }
        #expect(linePay + statement.commissionPayFen == statement.subtotalFen)
        #expect(statement.coefficientLines.count == 2)
        #expect(statement.coefficientLines.reduce(statement.subtotalFen) { $0 + $1.amountFen } == statement.totalFen)
        #expect(statement.totalFen > 0)

        // Run again: nothing to load, every month closed already, the same statement.
        let third = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), demo, workDir: workDir, name: "demo-3")
        let again = await third.exit()
        #expect(again == 0, "exit \(again): \(third.standardError.suffix(3_000))")
        #expect(third.standardError.contains("compensation has settled all 15 months (2025-08…2026-10) already"), "\(third.standardError)")
        #expect(Self.step(7, of: third.standardOutput) == step7)

        // The head-office report from what the demo left.
        let html = workDir.appendingPathComponent("report.html")
        let figuresFile = workDir.appendingPathComponent("figures.json")
        let report = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"),
                                        ["report", "--html", html.path, "--figures", figuresFile.path, "--state", state.path] + common,
                                        workDir: workDir, name: "report")
        let reported = await report.exit()
        #expect(reported == 0, "exit \(reported): \(report.standardError)")
        let page = try String(contentsOf: html, encoding: .utf8)
        for id in ["branch-customers", "tier-assets", "campaign-hit-rates", "model-precision", "class-asset_tier"] {
            #expect(page.contains("class=\"chart\" id=\"\(id)\""), "no chart \(id)")
        }
        #expect(page.contains("Demo campaign"))
        #expect(!page.contains("not loaded in this demo"))

        // The top managers: the held-out month's best paid, one bar each, as compensation pays them.
        let figures = try JSONDecoder().decode(ReportFigures.self, from: Data(contentsOf: figuresFile))
        let pay = try #require(figures.compensation)
        #expect(pay.month == "2026-10")
        let all = try await Self.statements(month: "2026-10", client: client)
        #expect(pay.statements == all.count)
        #expect(pay.totalPayFen == all.reduce(Int64(0)) { $0 + $1.totalFen })
        let best = all.sorted { ($0.totalFen, $1.managerID) > ($1.totalFen, $0.managerID) }.prefix(10)
        #expect(pay.topManagers.map(\.managerID) == best.map(\.managerID))
        #expect(pay.topManagers.map(\.totalFen) == best.map(\.totalFen))
        #expect(pay.topManagers.allSatisfy { !$0.name.isEmpty })
        let chart = try #require(Self.svg(id: "top-managers", in: page))
        #expect(chart.components(separatedBy: "<rect class=\"bar\"").count - 1 == pay.topManagers.count)
        for manager in pay.topManagers {
            #expect(chart.contains("<title>\(manager.managerID) \(manager.name) · \(manager.branchID): \(Format.money(fen: manager.totalFen))</title>"))
        }
    }

    /// The walkthrough's step `number`, from its heading to the next (or the end).
    static func step(_ number: Int, of walkthrough: String) -> String? {
        guard let start = walkthrough.range(of: "━━ \(number) · ") else { return nil }
        let end = walkthrough.range(of: "━━ \(number + 1) · ", range: start.upperBound..<walkthrough.endIndex)?.lowerBound ?? walkthrough.endIndex
        return String(walkthrough[start.lowerBound..<end])
    }

    /// The text after `label` on the first line that starts with it (trimmed).
    static func value(after label: String, in text: String) -> String? {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix(label) }
            .map { String($0.dropFirst(label.count)).trimmingCharacters(in: .whitespaces) }
    }

    /// A statement with every line (all pages).
    static func statement(managerID: String, month: String, client: RPCClient) async throws -> Crm_Compensation_V1_Statement {
        var statement: Crm_Compensation_V1_Statement?
        var token = ""
        repeat {
            let page = try await client.unary(Crm_Compensation_V1_Compensation.getStatement, Crm_Compensation_V1_GetStatementRequest.with {
                $0.managerID = managerID
                $0.month = month
                $0.page = .with { $0.pageSize = 5_000; $0.pageToken = token }
            })
            if statement == nil { statement = page.statement } else { statement?.lines += page.statement.lines }
            token = page.page.nextPageToken
        } while !token.isEmpty
        return try #require(statement)
    }

    static func statements(month: String, client: RPCClient) async throws -> [Crm_Compensation_V1_Statement] {
        try await client.unary(Crm_Compensation_V1_Compensation.listStatements, Crm_Compensation_V1_ListStatementsRequest.with {
            $0.month = month
            $0.page = .with { $0.pageSize = 5_000 }
        }).statements
    }

    static func svg(id: String, in page: String) -> String? {
        guard let open = page.range(of: "class=\"chart\" id=\"\(id)\""),
              let start = page.range(of: "<svg", options: .backwards, range: page.startIndex..<open.lowerBound),
              let end = page.range(of: "</svg>", range: open.upperBound..<page.endIndex) else { return nil }
        return String(page[start.lowerBound..<end.upperBound])
    }

    static func recordedChunks(_ state: URL) -> Int {
        guard let data = try? Data(contentsOf: state), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return 0 }
        return (object["chunks"] as? [String: Any])?.count ?? 0
    }
}

/// A command run as a child process with its output in files, awaited without blocking a thread.
final class CommandProcess: @unchecked Sendable {
    private let process: ChildProcess
    private let stdoutFile: URL
    private let stderrFile: URL

    init(_ executable: URL, _ arguments: [String], workDir: URL, name: String) throws {
        stdoutFile = workDir.appendingPathComponent("\(name).out")
        stderrFile = workDir.appendingPathComponent("\(name).err")
        process = try ChildProcess.start(
            executable, arguments: arguments, directory: ServiceProcess.packageRoot,
            output: .appending(to: stdoutFile), errors: .appending(to: stderrFile))
    }

    var standardOutput: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    var isRunning: Bool { process.isRunning }

    func interrupt() {
        process.send(SIGINT)
    }

    /// The exit status, once the process has exited (however long that takes on a busy machine).
    func exit() async -> Int32 {
        await process.exit.value()
    }
}
