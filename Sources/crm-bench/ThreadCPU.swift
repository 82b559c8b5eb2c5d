import Foundation
import NIOCore

/// CPU time of one thread, read from /proc: how much of a core the server's event loop used.
struct ThreadCPU {
    let tid: Int32

    /// The kernel thread id of the thread running `loop`.
    static func of(_ loop: any EventLoop) async throws -> ThreadCPU {
        ThreadCPU(tid: try await loop.submit {
            // /proc/thread-self links to <pid>/task/<tid> of the calling thread.
            Int32(URL(fileURLWithPath: "/proc/thread-self").resolvingSymlinksInPath().lastPathComponent) ?? 0
        }.get())
    }

    /// utime + stime in nanoseconds.
    func nanoseconds() -> Int64 {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return 0 }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) * 1_000_000_000 / max(ticks, 1)
    }
}
