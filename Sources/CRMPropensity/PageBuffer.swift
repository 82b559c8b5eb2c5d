#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes mapped straight from the kernel, zero until written and given back the moment the buffer
/// is freed.
///
/// Why not an array: a training's codes are a few hundred megabytes made of chunks of a few
/// megabytes, and copying them into the column-major matrix frees every chunk. The matrix used to
/// be zero-filled before the copy, which wrote all its pages while every chunk was still held: the
/// codes twice at the training's peak (88 MiB of a 100,000-customer replica's 698, BENCHMARKS.md ›
/// "The training's codes held once"). A mapping's pages cost memory only once written, so the
/// matrix grows as the copy reaches it, and a chunk's `munmap` gives its pages back the moment it is
/// copied, whatever malloc's thresholds (the services run with `MALLOC_MMAP_THRESHOLD_=131072`,
/// under which glibc maps such a block anyway; without it glibc serves blocks under its growing
/// threshold from its arenas and keeps them once freed).
///
/// `@unchecked Sendable`: the buffer owns its bytes; callers write them before sharing the buffer
/// and only read them after (``CodeStorage``, ``BinnedRowsBuilder``).
final class PageBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt8>
    /// The bytes asked for (the mapping is rounded up to whole pages).
    let count: Int
    private let mappedBytes: Int

    /// `count` zero bytes; a count of 0 maps one page, so `base` is always valid.
    init(count: Int) {
        self.count = count
        let page = Self.pageSize
        let length = max(page, (count + page - 1) / page * page)
        #if canImport(Glibc) || canImport(Darwin)
        if let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
           mapped != UnsafeMutableRawPointer(bitPattern: -1) {
            base = mapped.bindMemory(to: UInt8.self, capacity: length)
            mappedBytes = length
            return
        }
        #endif
        // No mapping (an exhausted map count): zeroed heap memory behaves the same, only it is not
        // returned to the kernel as promptly.
        let heap = UnsafeMutablePointer<UInt8>.allocate(capacity: length)
        heap.initialize(repeating: 0, count: length)
        base = heap
        mappedBytes = 0
    }

    deinit {
        #if canImport(Glibc) || canImport(Darwin)
        if mappedBytes > 0 {
            munmap(UnsafeMutableRawPointer(base), mappedBytes)
            return
        }
        #endif
        base.deallocate()
    }

    /// Whether the buffer is a mapping of its own (what ``residentPages()`` can measure).
    var isMapped: Bool { mappedBytes > 0 }

    /// The buffer's pages the kernel holds in memory now (`mincore`): what its writes have cost.
    /// Nil when the buffer is not a mapping or the kernel would not say.
    func residentPages() -> Int? {
        #if canImport(Glibc)
        guard mappedBytes > 0 else { return nil }
        let pages = mappedBytes / Self.pageSize
        var vector = [UInt8](repeating: 0, count: pages)
        let answered = vector.withUnsafeMutableBufferPointer { flags in
            mincore(UnsafeMutableRawPointer(base), mappedBytes, flags.baseAddress) == 0
        }
        return answered ? vector.reduce(0) { $0 + Int($1 & 1) } : nil
        #else
        return nil
        #endif
    }

    static let pageSize: Int = {
        let size = Int(sysconf(Int32(_SC_PAGESIZE)))
        return size > 0 ? size : 4_096
    }()
}
