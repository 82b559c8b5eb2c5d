import Foundation

/// What the topology file (services/topology.json, the `crm-topology` ConfigMap) says about
/// partitioned profiles: the partition map and where each owner listens.
///
/// The topology is `{"profiles": ["host:port", …], …, "partitions": {"count": …, "epoch": …,
/// "owners": {…}}}`. Owner `profiles-N` is the N-th endpoint of the `profiles` list, counted from 0
/// as a StatefulSet counts its pods (`profiles-1` is `profiles-1.profiles:7101` there); an owner
/// named `host:port` is that endpoint. Without a `partitions` object the one profiles process owns
/// every partition: today's single-node topology means what it always meant.
public struct PartitionTopology: Sendable, Hashable {
    /// The map; nil when the topology has no `partitions` object.
    public let map: PartitionMap?
    /// The `profiles` list, in order (empty when the topology lists none yet).
    public let profilesEndpoints: [String]

    public init(map: PartitionMap?, profilesEndpoints: [String]) {
        self.map = map
        self.profilesEndpoints = profilesEndpoints
    }

    /// Reads a topology file's contents; refuses one whose `partitions` object is not a valid map
    /// or names an owner the `profiles` list cannot resolve while that list is complete.
    public init(json: Data) throws(PartitioningError) {
        let object = try Self.object(json)
        guard let list = (object["profiles"] ?? [String]()) as? [String] else {
            throw PartitioningError("the topology's profiles is not a list of \"host:port\"")
        }
        self.profilesEndpoints = list
        if let partitions = object["partitions"] {
            guard JSONSerialization.isValidJSONObject(partitions) else {
                throw PartitioningError("partitions is not an object like {\"count\": 64, \"epoch\": 1, \"owners\": {…}}")
            }
            let data: Data
            do {
                data = try JSONSerialization.data(withJSONObject: partitions)
            } catch {
                throw PartitioningError("partitions: \(error)")
            }
            let map: PartitionMap
            do {
                map = try PartitionMap(json: data)
            } catch {
                throw PartitioningError("partitions: \(error)")
            }
            self.map = map
        } else {
            self.map = nil
        }
    }

    /// The endpoint (`host:port`) of the owner named `owner`, nil when the topology does not say
    /// (yet): `profiles-N` is the N-th of the `profiles` list, `host:port` is itself.
    /// A topology file's top-level object (the partition map and matching's groups are read from it).
    static func object(_ json: Data) throws(PartitioningError) -> [String: Any] {
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
                throw PartitioningError("a topology is a JSON object")
            }
            return parsed
        } catch let error as PartitioningError {
            throw error
        } catch {
            throw PartitioningError("the topology is not JSON: \(error)")
        }
    }

    public func endpoint(ofOwner owner: String) -> String? {
        if owner.hasPrefix(Self.instancePrefix), let ordinal = Int(owner.dropFirst(Self.instancePrefix.count)), ordinal >= 0 {
            return ordinal < profilesEndpoints.count ? profilesEndpoints[ordinal] : nil
        }
        let parts = owner.split(separator: ":")
        guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65_535).contains(port) else { return nil }
        return owner
    }

    /// Names of profiles instances: `profiles-0`, `profiles-1`, … (a StatefulSet's pod names).
    public static let instancePrefix = "profiles-"
}
