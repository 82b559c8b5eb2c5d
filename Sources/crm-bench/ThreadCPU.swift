import CRMServiceHost
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
        Int64((ProcessFigures.cpuSeconds(statPath: "/proc/self/task/\(tid)/stat") * 1e9).rounded())
    }
}
