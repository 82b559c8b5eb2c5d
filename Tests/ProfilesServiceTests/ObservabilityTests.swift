import CRMProtos
import CRMRPC
@testable import CRMServiceHost
import CRMTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing
@testable import ProfilesService

/// What the host exposes to operators, over a service run as the executable runs it: the runtime's
/// and the service's series in the Prometheus exposition, the HTTP endpoint, the JSON log line.
@Suite struct ObservabilityTests {
    /// The value of the sample line `name{labels}` in a text exposition, if it is there.
    static func sample(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func callsAreCountedByMethodAndStatusWithTheirLatencyAndTheIngestedEvents() async throws {
        let harness = try await ProfilesHarness.start()
        try await harness.upsert("C1")
        try await harness.upsert("C2")
        _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with {
            $0.events = [ProfilesHarness.trade("t1", customer: "C1"), ProfilesHarness.trade("t2", customer: "C2")]
        })
        let stranger = harness.service.client(token: "no-such-token")
        _ = await statusOf { _ = try await stranger.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C1" }) }
        await stranger.close()
        let text = String(decoding: await harness.service.metrics.exposition(), as: UTF8.self)
        try await harness.stop()

        let upsert = "service=\"profiles\",method=\"/crm.profiles.v1.Profiles/UpsertCustomer\""
        #expect(Self.sample(text, "crm_rpc_server_calls_total{\(upsert),status=\"OK\"}") == 2)
        #expect(Self.sample(text, "crm_rpc_server_call_duration_seconds_count{\(upsert)}") == 2)
        #expect(Self.sample(text, "crm_rpc_server_calls_total{service=\"profiles\",method=\"/crm.profiles.v1.Profiles/GetCustomer\",status=\"UNAUTHENTICATED\"}") == 1)
        #expect(Self.sample(text, "crm_profiles_ingested_events_total{service=\"profiles\",kind=\"trade\"}") == 2)
        #expect(Self.sample(text, "crm_rpc_server_calls_in_flight{service=\"profiles\"}") == 0)
        #expect((Self.sample(text, "crm_rpc_server_received_bytes_total{service=\"profiles\"}") ?? 0) > 0)
        #expect((Self.sample(text, "crm_store_file_bytes{service=\"profiles\"}") ?? 0) > 0)
        #expect(Self.sample(text, "crm_profiles_updater_lag_events{service=\"profiles\"}") != nil)
        // One process without a map owns every partition; nothing is drained.
        #expect(Self.sample(text, "crm_profiles_partitions_owned{service=\"profiles\"}") ?? 0 >= 1)
        #expect(Self.sample(text, "crm_profiles_partitions_drained{service=\"profiles\"}") == 0)
        #expect(Self.sample(text, "crm_profiles_partitions_prepared{service=\"profiles\"}") == 0)
        // No label carries a customer id.
        #expect(!text.contains("C1\""))
        #expect(text.contains("# TYPE crm_rpc_server_call_duration_seconds histogram"))
    }

    @Test func theUpdatersLagInSecondsCountsFromTheOldestWaitingEventsArrivalAndIsZeroOnceApplied() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            func lag() async -> (events: Double?, seconds: Double?) {
                let text = String(decoding: await harness.service.metrics.exposition(), as: UTF8.self)
                return (Self.sample(text, "crm_profiles_updater_lag_events{service=\"profiles\"}"),
                        Self.sample(text, "crm_profiles_updater_lag_seconds{service=\"profiles\"}"))
            }
            try await harness.upsert("C1")
            #expect(await lag().seconds == 0)
            // The harness runs no updater: the events wait, and the lag is how long they have.
            _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with {
                $0.events = [ProfilesHarness.trade("t1", customer: "C1"), ProfilesHarness.trade("t2", customer: "C1")]
            })
            let waiting = await lag()
            #expect(waiting.events == 2)
            let first = try #require(waiting.seconds)
            #expect(first > 0)
            #expect(try #require(await lag().seconds) >= first)
            _ = try await harness.service.service.cores.all[0].updater.catchUp()
            let applied = await lag()
            #expect(applied.events == 0)
            #expect(applied.seconds == 0)
        }
    }

    @Test func eventsStoredBeforeTheProcessStartedCountFromItsStart() {
        let started = ContinuousClock.now
        let lag = UpdaterLag(started: started)
        // Ten events were in the store at start; none applied: they have waited since the start.
        #expect(lag.seconds(applied: 0, newest: 10, now: started + .seconds(5)) == 5)
        // Two new ones arrive 7 s in; once the old ten are applied, the lag is theirs.
        lag.arrived(lastEventID: 12, count: 2, at: started + .seconds(7))
        #expect(lag.seconds(applied: 5, newest: 12, now: started + .seconds(9)) == 9)
        #expect(lag.seconds(applied: 10, newest: 12, now: started + .seconds(9)) == 2)
        #expect(lag.seconds(applied: 12, newest: 12, now: started + .seconds(9)) == 0)
    }

    /// The process's own series, under the names other Prometheus clients use, read from the kernel
    /// at each scrape: memory within what the kernel reports around the scrape, CPU a counter that
    /// grows with the CPU this process uses, descriptors within their limit.
    @Test func theProcessMemoryCPUAndDescriptorsAreSampledAtEachScrape() async throws {
        let metrics = ServiceMetrics(service: "test")
        ProcessMetrics.register(on: metrics)
        func scrape() async -> String { String(decoding: await metrics.exposition(), as: UTF8.self) }
        func value(_ text: String, _ name: String) throws -> Double {
            try #require(Self.sample(text, "\(name){service=\"test\"}"), "\(name) missing")
        }
        let first = await scrape()
        // Use some CPU (the process's, as the kernel counts it: not a clock), then scrape again
        // between two readings of the same count.
        let atFirst = ProcessFigures.cpuSeconds()
        var spin: UInt64 = 0
        while ProcessFigures.cpuSeconds() - atFirst < 0.05 {
            for step in 0..<1_000_000 { spin = spin &* 6364136223846793005 &+ UInt64(step) }
        }
        let beforeSecond = ProcessFigures.cpuSeconds()
        let second = await scrape()
        let afterSecond = ProcessFigures.cpuSeconds()
        let peakAfter = Double(try #require(ProcessFigures.statusBytes("VmHWM")))

        #expect(spin != 1)
        #expect(first.contains("# TYPE process_cpu_seconds_total counter"))
        let cpu = try value(second, "process_cpu_seconds_total")
        // The counter adds what was used since the last scrape, so it is the kernel's count (to a
        // floating-point sum's rounding).
        #expect(cpu >= beforeSecond - 0.001 && cpu <= afterSecond + 0.001)
        #expect(cpu > (try value(first, "process_cpu_seconds_total")))
        let resident = try value(second, "process_resident_memory_bytes")
        #expect(resident > 1_048_576 && resident <= peakAfter)
        #expect(try value(second, "crm_process_peak_resident_memory_bytes") <= peakAfter)
        #expect(try value(second, "crm_process_peak_resident_memory_bytes") >= resident)
        #expect(try value(second, "process_virtual_memory_bytes") >= resident)
        let open = try value(second, "process_open_fds")
        #expect(open >= 3)
        if let limit = ProcessFigures.descriptorLimit() {
            #expect(try value(second, "process_max_fds") == Double(limit))
            #expect(open <= Double(limit))
        }
        let started = try value(second, "process_start_time_seconds")
        #expect(started <= Date().timeIntervalSince1970 && started > Date().timeIntervalSince1970 - ProcessInfo.processInfo.systemUptime)
        // A limit is exported only where a control group sets one.
        #expect((Self.sample(second, "crm_process_memory_limit_bytes{service=\"test\"}") != nil) == (ProcessFigures.memoryLimitBytes() != nil))
    }

    @Test func theEndpointServesTheExpositionOverHTTPAndNothingElse() async throws {
        let metrics = ServiceMetrics(service: "test")
        metrics.counter("crm_test_events_total").increment(by: 3)
        let endpoint = MetricsEndpoint(host: "127.0.0.1", port: 0, metrics: metrics, logger: Logger(label: "test"))
        let address = try await endpoint.start()
        let port = try #require(address.port)
        let (body, response) = try await HTTPFetch.get(try #require(URL(string: "http://127.0.0.1:\(port)/metrics")))
        let (_, missing) = try await HTTPFetch.get(try #require(URL(string: "http://127.0.0.1:\(port)/other")))
        await endpoint.stop()
        #expect(response?.statusCode == 200)
        #expect(response?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(Self.sample(String(decoding: body, as: UTF8.self), "crm_test_events_total{service=\"test\"}") == 3)
        #expect(missing?.statusCode == 404)
    }

    @Test func jsonStringsAreEscaped() {
        #expect(JSONLogHandler.quoted("a \"b\"\n\\c\u{1}") == "\"a \\\"b\\\"\\n\\\\c\\u0001\"")
    }

    /// The server skips the tracer for unsampled callers only when swift-otel's sampler would drop
    /// them too: OpenTelemetry's parent-based samplers (and its default, when unset).
    @Test func onlyParentBasedSamplersLetTheServerSkipUnsampledCalls() {
        for sampler in [nil, "parentbased_always_on", "parentbased_traceidratio", "parentbased_always_off"] {
            #expect(TraceExport.followsCallerSampling(sampler: sampler), "\(sampler ?? "unset")")
        }
        for sampler in ["always_on", "always_off", "traceidratio"] {
            #expect(!TraceExport.followsCallerSampling(sampler: sampler), "\(sampler)")
        }
    }

    @Test func theMetricsPortMustDifferFromTheRPCPort() throws {
        let options = try HostOptions.parse(["--port", "7101", "--metrics-port", "7101", "--plaintext"])
        #expect(throws: ConfigurationError.self) {
            _ = try HostConfiguration.resolve(serviceName: "profiles", defaultPort: 7101, options: options, environment: [:])
        }
        let json = try HostOptions.parse(["--log-format", "yaml", "--plaintext"])
        #expect(throws: ConfigurationError.self) {
            _ = try HostConfiguration.resolve(serviceName: "profiles", defaultPort: 7101, options: json, environment: [:])
        }
    }
}
