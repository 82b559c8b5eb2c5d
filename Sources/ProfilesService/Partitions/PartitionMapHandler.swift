import CRMPartitions
import CRMProfilesClient
import CRMProtos
import CRMRPC
import CustomerDimensions
import GRDB

/// GetPartitionMap: the map this process routes by, so a client in any language can send each
/// customer's calls straight to the owner (proto/README.md §17). Every role that calls profiles
/// may read it; it holds no customer data.
///
/// It also carries this process's business day, which the other owners adopt when it is newer than
/// theirs (``BusinessDayGossip``, docs/partitioning.md §2).
struct PartitionMapHandler: Sendable {
    let routing: PartitionRouting
    /// The stores whose newest business day the map carries.
    let cores: ProfilesCores

    func register(into router: inout Router) {
        let everyone = AccessPolicy.roles(ProfilesRoles.ingest, ProfilesRoles.manager, ProfilesRoles.headOffice, ProfilesRoles.service)
        let routing = self.routing
        let cores = self.cores
        router.unary(Crm_Profiles_V1_Profiles.getPartitionMap, policy: everyone, servesWhileStarting: true) { _, _ in
            // Read from the stores, not the updaters' memory: answered while starting too.
            var answer = Self.answer(routing, businessDay: try await cores.storedBusinessDay())
            answer.feedsPerPartition = cores.storage == .filePerPartition
            return answer
        }
    }

    static func answer(_ routing: PartitionRouting, businessDay: DayNumber) -> Crm_Profiles_V1_GetPartitionMapResponse {
        let map = routing.map
        let endpoints = routing.endpoints(in: map)
        return .with {
            $0.count = UInt32(map.partitioning.count)
            $0.epoch = map.epoch
            $0.hash = "fnv1a64"
            $0.answeredBy = routing.ownName
            $0.settingsDigest = routing.settingsDigest.value
            if let date = BusinessDayText.date(businessDay) { $0.businessDay = date }
            $0.owners = PartitionMapWire.owners(of: map, endpoints: endpoints)
        }
    }
}
