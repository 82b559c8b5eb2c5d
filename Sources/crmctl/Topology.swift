import CRMPartitions
import CRMRPC
import Foundation

/// Where each service listens: services/topology.json, `{"profiles": ["127.0.0.1:7101"], ...}`.
/// Matching may list several replicas; profiles several processes when the topology has a
/// `partitions` object (the partition map, docs/partitioning.md §5). Without one, the one profiles
/// process owns every partition, as before.
struct Topology {
    static let serviceOrder = ["profiles", "products", "matching", "compensation"]
    /// The token the development configurations in services/ accept with the admin role. For
    /// development only: production configurations list their own token hashes.
    static let developmentAdminToken = "dev-admin-token"
    /// The development compliance token: the only role the audit trail answers (admin may not read it).
    static let developmentComplianceToken = "dev-compliance-token"

    var endpoints: [String: [Endpoint]]
    /// The partition map (nil: one profiles process owns every partition).
    var partitions: PartitionMap? = nil
    /// Matching's partition groups (nil: every replica holds every customer).
    var matchingGroups: MatchingGroups? = nil
    /// The file it was read from (nil: the built-in defaults); partitioned profiles processes read it too.
    var path: String? = nil

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
            guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("not an object")
            }
            object[Self.partitionsKey] = nil
            object[MatchingGroups.topologyKey] = nil
            raw = try JSONDecoder().decode([String: [String]].self, from: JSONSerialization.data(withJSONObject: object))
        } catch {
            throw ValidationError("\(path) is not a JSON object of service name → [\"host:port\"] (and a partitions object): \(error)")
        }
        let partitions: PartitionMap?
        do {
            partitions = try PartitionTopology(json: data).map
        } catch {
            throw ValidationError("\(path): \(error)")
        }
        if let partitions {
            let topology = PartitionTopology(map: partitions, profilesEndpoints: raw["profiles"] ?? [])
            for owner in partitions.owners.keys.sorted() where topology.endpoint(ofOwner: owner) == nil {
                throw ValidationError("\(path): partition owner \(owner) is neither profiles-N of the \(raw["profiles"]?.count ?? 0) profiles endpoints nor host:port")
            }
        }
        let groups: MatchingGroups?
        do {
            groups = try MatchingGroups(topology: data)
        } catch {
            throw ValidationError("\(path): \(error)")
        }
        if let groups {
            let replicas = Set(raw["matching"] ?? [])
            for replica in groups.groups.flatMap(\.replicas) where !replicas.contains(replica) {
                throw ValidationError("\(path): matching_groups names \(replica), which the matching list does not")
            }
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
        return Topology(endpoints: endpoints, partitions: partitions, matchingGroups: groups, path: path)
    }

    /// The topology's key of the partition map: not a service.
    static let partitionsKey = "partitions"


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
