/// # CRMPartitions
///
/// Which logical partition a customer belongs to, and the pure pieces every partitioned call needs
/// (merging sorted per-partition pages, page tokens that carry a cursor per partition, sets of
/// partitions as an operator writes them). No I/O and no service: profiles, its clients in any
/// language and tools must all compute the same partition, so the rule lives in one small place
/// that is tested against a frozen table. The design: docs/partitioning.md.

/// The firm's partitioning: P logical partitions, and the function that puts a customer in one.
///
/// `partition(of:)` is FNV-1a (64 bits) over the id's UTF-8 bytes, modulo P. Both the function and
/// P are part of every stored file's meaning (a customer's partition decides which file holds it),
/// so neither may ever change for a firm: P is recorded when the firm's store is created and the
/// function is pinned by a table of ids → partitions in the tests.
public struct Partitioning: Sendable, Hashable, CustomStringConvertible {
    /// Partitions of a new firm unless configured: more than a 30-million-customer firm needs
    /// processes, few enough that one process keeps every file open cheaply (docs/partitioning.md §1).
    public static let defaultCount = 64
    /// The largest P accepted: beyond it a single-node install would hold more files than is sensible.
    public static let counts = 1...4_096

    /// P: the number of logical partitions.
    public let count: Int

    /// Refuses a P outside ``counts`` (the message names the bounds; callers name their setting).
    public init(count: Int) throws(PartitioningError) {
        guard Self.counts.contains(count) else {
            throw PartitioningError("a partition count must be within \(Self.counts.lowerBound)...\(Self.counts.upperBound), not \(count)")
        }
        self.count = count
    }

    /// The partition (0..<count) holding `customerID`.
    public func partition(of customerID: String) -> Int {
        Int(Self.fnv1a64(customerID) % UInt64(count))
    }

    /// The partitions `customerIDs` fall in, each with the positions (in `customerIDs`) of its ids,
    /// in increasing partition order: how a batch is split into its per-partition parts.
    public func split(_ customerIDs: [String]) -> [(partition: Int, positions: [Int])] {
        var parts: [Int: [Int]] = [:]
        for (position, id) in customerIDs.enumerated() {
            parts[partition(of: id), default: []].append(position)
        }
        return parts.keys.sorted().map { ($0, parts[$0] ?? []) }
    }

    /// FNV-1a, 64 bits, over the UTF-8 bytes of `text`: offset basis 0xcbf29ce484222325, prime
    /// 0x100000001b3, arithmetic modulo 2^64. Defined byte for byte, so a client in any language
    /// computes the same value.
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// A partition's name where one is written down: `p0007` (four digits, since P is at most
    /// 4,096) — its file's name (`p0007.sqlite`) and the suffix of consumers' cursors on its feed.
    public static func name(of partition: Int) -> String {
        let digits = String(partition)
        return "p" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    public var description: String { "\(count) partitions" }
}

/// A partitioning value or text that does not hold; the message says why.
public struct PartitioningError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
