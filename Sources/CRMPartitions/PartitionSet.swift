import Foundation

/// A set of partitions as operators write them in a partition map: `0-15,48-63`, `7`, or `all`.
///
/// The map in the topology says which process owns which partitions; ranges keep a 64-partition
/// map readable and a diff of a move one number wide.
public struct PartitionSet: Sendable, Hashable, CustomStringConvertible {
    /// The partitions, increasing.
    public let partitions: [Int]

    public init<S: Sequence>(_ partitions: S) where S.Element == Int {
        self.partitions = Array(Set(partitions)).sorted()
    }

    /// Every partition of `partitioning`.
    public static func all(_ partitioning: Partitioning) -> PartitionSet {
        PartitionSet(0..<partitioning.count)
    }

    /// Parses `text` (comma-separated numbers and `a-b` ranges, or `all`) against `partitioning`;
    /// refuses a number out of range, a reversed range, a repeat and an empty list.
    public init(parsing text: String, in partitioning: Partitioning) throws(PartitioningError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "all" {
            self = .all(partitioning)
            return
        }
        var seen = Set<Int>()
        for piece in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let part = piece.trimmingCharacters(in: .whitespaces)
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]) else {
                throw PartitioningError("\"\(part)\" is not a partition or a range a-b")
            }
            guard low <= high else { throw PartitioningError("range \(part) is reversed") }
            guard low >= 0, high < partitioning.count else {
                throw PartitioningError("\(part) is outside 0-\(partitioning.count - 1)")
            }
            for partition in low...high {
                guard seen.insert(partition).inserted else { throw PartitioningError("partition \(partition) is listed twice") }
            }
        }
        self.init(seen)
    }

    public func contains(_ partition: Int) -> Bool {
        partitions.contains(partition)
    }

    /// The shortest text ``init(parsing:in:)`` reads back: runs of two or more as `a-b`.
    public var description: String {
        var pieces: [String] = []
        var index = 0
        while index < partitions.count {
            var end = index
            while end + 1 < partitions.count, partitions[end + 1] == partitions[end] + 1 { end += 1 }
            pieces.append(end == index ? "\(partitions[index])" : "\(partitions[index])-\(partitions[end])")
            index = end + 1
        }
        return pieces.joined(separator: ",")
    }
}
