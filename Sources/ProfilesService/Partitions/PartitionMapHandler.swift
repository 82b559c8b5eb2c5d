import CRMPartitions
import CRMProtos
import CRMRPC

/// GetPartitionMap: the map this process routes by, so a client in any language can send each
/// customer's calls straight to the owner (proto/README.md §17). Every role that calls profiles
/// may read it; it holds no customer data.
struct PartitionMapHandler: Sendable {
    let routing: PartitionRouting

    func register(into router: inout Router) {
        let everyone = AccessPolicy.roles(ProfilesRoles.ingest, ProfilesRoles.manager, ProfilesRoles.headOffice, ProfilesRoles.service)
        let routing = self.routing
        router.unary(Crm_Profiles_V1_Profiles.getPartitionMap, policy: everyone, servesWhileStarting: true) { _, _ in
            Self.answer(routing)
        }
    }

    static func answer(_ routing: PartitionRouting) -> Crm_Profiles_V1_GetPartitionMapResponse {
        let endpoints = routing.endpoints()
        return .with {
            $0.count = UInt32(routing.map.partitioning.count)
            $0.epoch = routing.map.epoch
            $0.hash = "fnv1a64"
            $0.answeredBy = routing.ownName
            $0.owners = routing.map.owners.keys.sorted().map { name in
                Crm_Profiles_V1_PartitionOwner.with {
                    $0.name = name
                    $0.endpoint = endpoints[name] ?? ""
                    $0.partitions = routing.map.partitions(ownedBy: name).description
                }
            }
        }
    }
}
