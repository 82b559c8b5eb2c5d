import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Testing

/// The real executables serving their metrics, scraped by a real Prometheus: what an operator's
/// dashboards and alerts read is there, and moves when the services work.
@Suite(.serialized) struct MetricsPrometheusTests {
    static let adminToken = "dev-admin-token"

    @Test func prometheusScrapesCallCountersAndFeedLagThatMoveWithCalls() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let names = ["profiles", "products", "matching", "compensation"]
        let processes = names.map { ServiceProcess(service: $0, workDir: workDir) }
        let prometheus = PrometheusProcess(workDir: workDir)
        defer {
            prometheus.terminate()
            for process in processes { process.terminate() }
        }
        // One profiles store, so each follower has one customers feed and one event log to count
        // (a file per partition would give each 64 of them).
        try await processes[0].start(arguments: OwnersTopology.oneFile, metrics: true)
        try await processes[1].start(metrics: true)
        let feeds = ["profiles": processes[0].port, "products": processes[1].port]
        try await processes[2].start(peers: feeds, metrics: true)
        try await processes[3].start(peers: feeds, metrics: true)
        let targets = processes.compactMap { $0.metricsPort.map { "127.0.0.1:\($0)" } }
        #expect(targets.count == 4)
        try await prometheus.start(targets: ["crm": targets])

        // Every service scraped.
        try await waitUntil(every: .milliseconds(200)) {
            try await prometheus.query("up{job=\"crm\"} == 1").count == 4
        }
        // Sampled series are there before any call: each follower's lag and position, the stores.
        try await waitUntil(every: .milliseconds(200)) {
            let lags = try await prometheus.query("crm_feed_lag_seconds")
            let services = Set(lags.compactMap { $0.labels["service"] })
            return services == ["matching", "compensation"] && lags.count == 5
        }
        #expect(try await prometheus.query("crm_store_file_bytes > 0").count == 4)
        // Each executable's own memory and CPU, as the kernel counts them.
        #expect(try await prometheus.query("process_resident_memory_bytes > 1048576").count == 4)
        #expect(try await prometheus.query("process_cpu_seconds_total > 0").count == 4)
        #expect(try await prometheus.query("crm_matching_copy_staleness_seconds").count == 2)

        let profiles = RPCClient(configuration: ClientConfiguration(
            endpoints: [processes[0].endpoint], security: processes[0].clientSecurity, token: Self.adminToken, defaultDeadline: nil))
        defer { Task { await profiles.close() } }
        let upserts = "crm_rpc_server_calls_total{service=\"profiles\",method=\"/crm.profiles.v1.Profiles/UpsertCustomer\",status=\"OK\"}"
        let customersFeed = "crm_feed_position{service=\"compensation\",feed=\"profiles_customers\"}"
        let copiedCustomers = "crm_matching_copy_customers"
        // A routed method's OK series is made when the server starts (so a call ending OK takes no
        // lock), and reads zero until the first call.
        #expect(try await prometheus.value(upserts) == 0, "no call made yet")

        func upsert(_ range: ClosedRange<Int>) async throws {
            for number in range {
                _ = try await profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                    $0.customer = .with {
                        $0.customerID = String(format: "C%06d", number)
                        $0.kind = .individual
                        $0.name = "Customer \(number)"
                        $0.branchID = "B01"
                        $0.managerID = "M0001"
                        $0.status = .normal
                        $0.openDate = .init(year: 2019, month: 3, day: 14)
                    }
                })
            }
        }

        // Calls move the counter, the latency histogram and the feeds that follow profiles.
        try await upsert(1...5)
        try await waitUntil(every: .milliseconds(200)) { try await prometheus.value(upserts) == 5 }
        try await waitUntil(every: .milliseconds(200)) { (try await prometheus.value(customersFeed) ?? 0) >= 5 }
        try await waitUntil(every: .milliseconds(200)) { try await prometheus.value(copiedCustomers) == 5 }
        let position = try #require(try await prometheus.value(customersFeed))

        try await upsert(6...8)
        try await waitUntil(every: .milliseconds(200)) { try await prometheus.value(upserts) == 8 }
        try await waitUntil(every: .milliseconds(200)) { (try await prometheus.value(customersFeed) ?? 0) > position }
        try await waitUntil(every: .milliseconds(200)) { try await prometheus.value(copiedCustomers) == 8 }
        let histogramCount = "crm_rpc_server_call_duration_seconds_count{service=\"profiles\",method=\"/crm.profiles.v1.Profiles/UpsertCustomer\"}"
        #expect(try await prometheus.value(histogramCount) == 8)
        // Matching and compensation count their own calls to profiles' feed, as clients.
        #expect(try await prometheus.query("crm_rpc_client_calls_total{client=\"compensation\",status=\"OK\"}").isEmpty == false)
        // A caller without a token is counted by status too, and no label carries a caller's value.
        let anonymous = RPCClient(configuration: ClientConfiguration(
            endpoints: [processes[0].endpoint], security: processes[0].clientSecurity, token: nil, defaultDeadline: nil))
        defer { Task { await anonymous.close() } }
        await #expect(throws: RPCError.self) {
            _ = try await anonymous.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C000001" })
        }
        try await waitUntil(every: .milliseconds(200)) {
            try await prometheus.value("crm_rpc_server_calls_total{service=\"profiles\",status=\"UNAUTHENTICATED\"}") == 1
        }
        let customerLabels = try await prometheus.query("{__name__=~\"crm_.*\"}").flatMap { $0.labels.values }.filter { $0.hasPrefix("C0000") }
        #expect(customerLabels.isEmpty)
    }
}
