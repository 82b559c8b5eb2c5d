import CRMRPC
import Foundation

/// Where each service listens: services/topology.json, `{"profiles": ["127.0.0.1:7101"], ...}`.
/// Matching may list several replicas.
struct Topology {
    static let serviceOrder = ["profiles", "products", "matching", "compensation"]
    /// The token the development configurations in services/ accept with the admin role. For
    /// development only: production configurations list their own token hashes.
    static let developmentAdminToken = "dev-admin-token"
    /// The development compliance token: the only role the audit trail answers (admin may not read it).
    static let developmentComplianceToken = "dev-compliance-token"

    var endpoints: [String: [Endpoint]]

    static let defaults = Topology(endpoints: [
        "profiles": [Endpoint(host: "127.0.0.1", port: 7101)],
        "products": [Endpoint(host: "127.0.0.1", port: 7102)],
        "matching": [Endpoint(host: "127.0.0.1", port: 7103), Endpoint(host: "127.0.0.1", port: 7113)],
        "compensation": [Endpoint(host: "127.0.0.1", port: 7104)],
    ])

    static func load(path: String) throws -> Topology {
        guard FileManager.default.fileExists(atPath: path) else { return defaults }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let raw: [String: [String]]
        do {
            raw = try JSONDecoder().decode([String: [String]].self, from: data)
        } catch {
            throw ValidationError("\(path) is not a JSON object of service name → [\"host:port\"]: \(error)")
        }
        var endpoints: [String: [Endpoint]] = [:]
        for (service, addresses) in raw {
            endpoints[service] = try addresses.map { address in
                guard let endpoint = Endpoint(address) else {
                    throw ValidationError("\(path): \(service) endpoint \(address) is not host:port")
                }
                return endpoint
            }
        }
        return Topology(endpoints: endpoints)
    }

    func endpoints(of service: String) throws -> [Endpoint] {
        guard let list = endpoints[service], !list.isEmpty else {
            throw ValidationError("unknown service '\(service)'; the topology has \(endpoints.keys.sorted().joined(separator: ", "))")
        }
        return list
    }

    var services: [String] {
        Self.serviceOrder.filter { endpoints[$0] != nil } + endpoints.keys.filter { !Self.serviceOrder.contains($0) }.sorted()
    }
}

import ArgumentParser

enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
