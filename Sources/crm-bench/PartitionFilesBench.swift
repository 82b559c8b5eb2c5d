import ArgumentParser
import CRMStore
import Foundation
import GRDB
import ProfilesService

/// What one SQLite file per partition costs a profiles process before any customer arrives
/// (docs/partitioning.md §2): creating P stores with profiles' full schema, opening them again, and
/// the file descriptors they hold with a writer and one reader each — the figures behind opening
/// every owned partition at start-up rather than lazily, and behind tests using a small P.
struct PartitionFilesBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition-files",
        abstract: "Creating and opening one profiles store per partition: time and file descriptors."
    )

    @Option(help: "Partitions (files) per round.")
    var count: Int = 64

    @Option(help: "Rounds; medians are reported.")
    var rounds: Int = 3

    func run() throws {
        guard (1...4_096).contains(count), (1...20).contains(rounds) else {
            throw ValidationError("--count must be 1...4096 and --rounds 1...20")
        }
        var created: [Double] = [], reopened: [Double] = [], descriptors: [Int] = [], bytes: [Int] = []
        let baseline = Self.openDescriptors()
        for _ in 0..<rounds {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("partition-files-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let paths = (0..<count).map { folder.appendingPathComponent(String(format: "p%04d.sqlite", $0)).path }
            let clock = ContinuousClock()
            var start = clock.now
            var pools = try paths.map { try SQLiteStore.open(path: $0, migrator: ProfilesService.migrator) }
            created.append((clock.now - start).seconds * 1_000)
            for pool in pools { try pool.close() }
            pools = []
            start = clock.now
            pools = try paths.map { try SQLiteStore.open(path: $0, migrator: ProfilesService.migrator) }
            reopened.append((clock.now - start).seconds * 1_000)
            // A read on each: a reader connection beside the writer, as a serving process has.
            for pool in pools { _ = try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") } }
            descriptors.append(Self.openDescriptors() - baseline)
            bytes.append(paths.reduce(0) { total, path in
                total + ["", "-wal", "-shm"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: path + $1)[.size] as? Int) ?? 0) }
            })
            for pool in pools { try pool.close() }
        }
        func median<T: Comparable>(_ values: [T]) -> T { values.sorted()[values.count / 2] }
        print("partition files: \(count) stores with profiles' schema, \(rounds) rounds (medians)")
        print(String(format: "  create (migrations included): %.0f ms  (%.1f ms a file)", median(created), median(created) / Double(count)))
        print(String(format: "  reopen:                       %.0f ms  (%.2f ms a file)", median(reopened), median(reopened) / Double(count)))
        print("  file descriptors, a writer and a reader each: \(median(descriptors))  (\(String(format: "%.1f", Double(median(descriptors)) / Double(count))) a file)")
        print("  bytes on disk, empty: \(median(bytes))  (\(median(bytes) / count) a file)")
    }


    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }
}
