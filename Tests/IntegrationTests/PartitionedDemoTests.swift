import CRMTestSupport
import Foundation
import Testing

/// `crmctl demo` on four profiles owners of 16 partitions (services/topology-partitioned.json's
/// shape, on ports the OS picks) prints, with the same seed, the walkthrough of one profiles
/// process: the same customers found, lists, scores and reasons, decisions, campaign and model
/// figures, and the same statement to the fen. Loading goes through every profiles endpoint (each
/// forwards what it does not own); matching and compensation follow every owner's feeds; the
/// demo waits for each owner's feeds to be read to their end. Two of the four owners keep a file
/// per partition (`partitions.storage = file-per-partition`): calls are routed among their files,
/// and matching and compensation follow each of those partitions' own feed and log. Matching runs
/// as two partition groups of two replicas each, the first of which the demo asks: it trains the
/// model across both groups (each builds its own customers' rows, choices and evaluation part),
/// target lists and campaigns merge both groups' parts, a customer of the other group is forwarded
/// there, products' suitability checks reach either replica. Only the model's version (which
/// carries its training instant) differs.
@Suite(.serialized) struct PartitionedDemoTests {
    static let demoArguments = ["--customers", "400", "--seed", "11", "--chunk-size", "50", "--trees", "20"]
    static let partitions = 16

    @Test func theDemoOnFourProfilesOwnersPrintsTheWalkthroughOfOneProcess() async throws {
        // (Owners 0 and 2 keep a file per partition: ``DemoStack/start(in:owners:partitions:)``.)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pdemo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var walkthroughs: [String] = []
        for owners in [1, 4] {
            let workDir = root.appendingPathComponent("owners-\(owners)")
            let stack = try await DemoStack.start(in: workDir, owners: owners, partitions: Self.partitions, matchingGroups: owners > 1)
            defer { stack.terminate() }
            let demo = try CommandProcess(
                ServiceProcess.binaryDir.appendingPathComponent("crmctl"),
                ["demo"] + Self.demoArguments + ["--state", workDir.appendingPathComponent("demo-state.json").path,
                                                 "--topology", stack.topology.path, "--data-dir", workDir.path],
                workDir: workDir, name: "demo")
            let status = await demo.exit()
            #expect(status == 0, "\(owners) owner(s): exit \(status): \(demo.standardError.suffix(3_000))")
            if owners > 1 {
                // crmctl read the groups from the topology: it waited for the model to reach each group.
                #expect(demo.standardError.contains("waiting until every matching replica scores with"), "\(demo.standardError.suffix(3_000))")
            }
            walkthroughs.append(Self.withoutModelVersion(demo.standardOutput))
        }
        let (one, four) = (walkthroughs[0], walkthroughs[1])
        #expect(one.contains("━━ 7 · ") && one.contains("✓ adds up"), "\(one)")
        for step in 1...7 {
            #expect(DemoCommandTests.step(step, of: four) == DemoCommandTests.step(step, of: one),
                    "step \(step) differs:\n\(DemoCommandTests.step(step, of: four) ?? "(none)")\n— one process —\n\(DemoCommandTests.step(step, of: one) ?? "(none)")")
        }
        #expect(four == one)
    }

    /// `gbt-<training instant in ms>-<hash>` → `gbt-…`: two trainings of the same rows differ there only.
    static func withoutModelVersion(_ text: String) -> String {
        text.replacing(/gbt-[0-9]+-[0-9a-f]+/, with: "gbt-…")
    }
}

/// The four services for one demo, each a real executable: `owners` profiles processes (one: a
/// single process holding every partition), products, matching and compensation, TLS with the work
/// folder's development certificates, and the topology file crmctl reads.
struct DemoStack {
    let processes: [ServiceProcess]
    let topology: URL

    /// `matchingGroups` (with several owners): matching split into two partition groups of two
    /// replicas each (docs/partitioning.md §9).
    static func start(in workDir: URL, owners: Int, partitions: Int, matchingGroups: Bool = false) async throws -> DemoStack {
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        var processes: [ServiceProcess] = []
        do {
            let map = owners > 1 ? try OwnersTopology(in: workDir, count: partitions, owners: owners) : nil
            let profiles: [ServiceProcess]
            if let map {
                // Half the owners keep a file per partition, half one file (a firm moving to files).
                profiles = try await map.startOwners(in: workDir) { ordinal in
                    ordinal % 2 == 0 ? OwnersTopology.files : OwnersTopology.oneFile
                }
            } else {
                profiles = [ServiceProcess(service: "profiles", workDir: workDir)]
                try await profiles[0].start(arguments: ["--setting", "partitions.count=\(partitions)"])
            }
            processes += profiles
            let profilesEndpoints = profiles.map { "127.0.0.1:\($0.port)" }

            // Products needs matching's port for its suitability gate and matching products': products
            // starts first with a placeholder, then again once matching listens.
            let products = ServiceProcess(service: "products", workDir: workDir)
            let matching = ServiceProcess(service: "matching", workDir: workDir)
            let compensation = ServiceProcess(service: "compensation", workDir: workDir)
            processes += [products, matching, compensation]
            try await products.start(peers: ["matching": 1])
            var replicas = [matching]
            var groups: [(partitions: String, replicas: [String])] = []
            if let map, matchingGroups {
                // Two groups of two replicas each (services/topology-partitioned.json's shape), on
                // ports held until they start (each names the others, and all are in the topology
                // first); the demo asks the first, which trains across both groups.
                let reserved = try (0..<4).map { _ in try ReservedPort() }
                let endpoints = reserved.map { "127.0.0.1:\($0.port)" }
                groups = [("0-\(partitions / 2 - 1)", Array(endpoints[0..<2])), ("\(partitions / 2)-\(partitions - 1)", Array(endpoints[2..<4]))]
                try map.write(endpoints: profilesEndpoints, services: ["products": ["127.0.0.1:\(products.port)"], "matching": endpoints],
                              matchingGroups: groups)
                replicas = [matching] + (1..<4).map { ServiceProcess(service: "matching", workDir: workDir, name: "matching-\($0)") }
                processes += replicas.dropFirst()
                for (index, replica) in replicas.enumerated() {
                    reserved[index].release()
                    let siblings = endpoints.enumerated().filter { $0.offset != index }.map(\.element)
                    try await replica.start(port: reserved[index].port, peers: ["profiles": profiles[0].port, "products": products.port],
                                            arguments: ["--peer", "matching=\(siblings.joined(separator: ","))", "--setting", "groups.topology=\(map.url.path)",
                                                        "--setting", "groups.replica=\(endpoints[index])"])
                }
            } else {
                try await matching.start(peers: ["profiles": profiles[0].port, "products": products.port])
            }
            let matchingEndpoints = replicas.map { "127.0.0.1:\($0.port)" }
            products.terminate()
            try await products.start(port: products.port, arguments: ["--peer", "matching=\(matchingEndpoints.joined(separator: ","))"])
            try await compensation.start(peers: ["profiles": profiles[0].port, "products": products.port])

            let services = ["products": ["127.0.0.1:\(products.port)"], "matching": matchingEndpoints, "compensation": ["127.0.0.1:\(compensation.port)"]]
            let topology: URL
            if let map {
                try map.write(endpoints: profilesEndpoints, services: services, matchingGroups: groups)
                topology = map.url
            } else {
                topology = workDir.appendingPathComponent("topology.json")
                let all = services.merging(["profiles": profilesEndpoints]) { $1 }
                try JSONSerialization.data(withJSONObject: all, options: [.sortedKeys]).write(to: topology, options: .atomic)
            }
            return DemoStack(processes: processes, topology: topology)
        } catch {
            for process in processes.reversed() { process.terminate() }
            throw error
        }
    }

    func terminate() {
        for process in processes.reversed() { process.terminate() }
    }
}
