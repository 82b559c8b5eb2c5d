import CRMPartitions
import Foundation
import Testing

/// Matching's partition groups as the topology states them: every partition in exactly one group,
/// each replica in one group, a customer's group the group of their partition.
struct MatchingGroupsParsingTests {
    func topology(_ groups: String, count: Int = 8) -> Data {
        Data("""
        {"matching": ["a:1", "b:1", "c:1"], "partitions": {"count": \(count), "epoch": 1, "owners": {"profiles-0": "0-\(count - 1)"}},
         "matching_groups": \(groups)}
        """.utf8)
    }

    @Test func groupsCoverEveryPartitionOnce() throws {
        let groups = try #require(try MatchingGroups(topology: topology(#"[{"partitions": "0-3", "replicas": ["a:1", "b:1"]}, {"partitions": "4-7", "replicas": ["c:1"]}]"#)))
        #expect(groups.groups.count == 2)
        #expect(groups.group(ofReplica: "b:1") == 0 && groups.group(ofReplica: "c:1") == 1 && groups.group(ofReplica: "d:1") == nil)
        for id in (1...200).map({ "C\($0)" }) {
            #expect(groups.group(ofCustomer: id) == (groups.partitioning.partition(of: id) < 4 ? 0 : 1))
        }
    }

    @Test func aTopologyWithoutGroupsHasNone() throws {
        #expect(try MatchingGroups(topology: Data(#"{"matching": ["a:1"]}"#.utf8)) == nil)
    }

    @Test(arguments: [
        (#"[{"partitions": "0-3", "replicas": ["a:1"]}]"#, "partition 4 is in no matching group"),
        (#"[{"partitions": "0-4", "replicas": ["a:1"]}, {"partitions": "4-7", "replicas": ["b:1"]}]"#, "partition 4 is in matching groups 0 and 1"),
        (#"[{"partitions": "0-3", "replicas": ["a:1"]}, {"partitions": "4-7", "replicas": ["a:1"]}]"#, "replica a:1 is in two matching groups"),
        (#"[{"partitions": "0-3", "replicas": []}, {"partitions": "4-7", "replicas": ["b:1"]}]"#, "matching group 0 lists no replica"),
        (#"[{"partitions": "0-9", "replicas": ["a:1"]}]"#, "outside 0-7"),
        (#"{"partitions": "0-7"}"#, "is not a list"),
    ])
    func badGroupsAreRefusedSayingWhy(groups: String, reason: String) {
        #expect {
            _ = try MatchingGroups(topology: topology(groups))
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func groupsNeedThePartitionCount() {
        #expect(throws: PartitioningError.self) {
            _ = try MatchingGroups(topology: Data(#"{"matching_groups": [{"partitions": "0-3", "replicas": ["a:1"]}]}"#.utf8))
        }
    }
}
