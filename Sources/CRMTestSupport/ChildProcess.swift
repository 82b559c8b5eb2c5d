import Dispatch
import Foundation
import Synchronization

/// Starts a test's child processes (service executables, scripts, Prometheus, Chromium) one at a
/// time, and tells when each has exited without tying up a thread of Swift's cooperative pool.
///
/// Why one at a time: Foundation's `Process` on Linux learns that a child ended when the child's end
/// of a socket pair closes, and keeps the parent's other descriptors out of a child by listing them
/// just before the spawn. A pair that another thread opens between that listing and the spawn is
/// inherited by the second child, so the first child's end stays open for as long as the second
/// child lives, and waiting for the first never ends. With many tests starting services at once,
/// two such waits can hold both threads of a 2-core machine's pool and freeze the whole run (a CI
/// run stopped printing half a minute in and was killed an hour and a half later). Every test
/// process start goes through ``launch(_:)``; nothing in the test process calls `Process.run()`
/// itself.
public enum ChildProcess {
    private static let spawning = Mutex(())

    /// Runs `process` (configured, not started) under the process-wide start lock. Its
    /// termination handler is taken over: the returned ``ProcessExit`` tells when it ended.
    public static func launch(_ process: Process) throws -> ProcessExit {
        let exit = ProcessExit()
        process.terminationHandler = { ended in exit.ended(ended.terminationStatus) }
        try spawning.withLock { _ in try process.run() }
        return exit
    }
}

/// The exit status of a child started by ``ChildProcess/launch(_:)``, awaited or waited for.
public final class ProcessExit: Sendable {
    private struct State {
        var status: Int32?
        var awaiting: [CheckedContinuation<Int32, Never>] = []
        var blocked: [DispatchSemaphore] = []
    }

    private let state = Mutex(State())

    init() {}

    fileprivate func ended(_ status: Int32) {
        let (awaiting, blocked) = state.withLock { state in
            state.status = status
            defer { state.awaiting = []; state.blocked = [] }
            return (state.awaiting, state.blocked)
        }
        for continuation in awaiting { continuation.resume(returning: status) }
        for semaphore in blocked { semaphore.signal() }
    }

    /// The status once the child has exited, nil while it runs.
    public var status: Int32? { state.withLock { $0.status } }

    /// Suspends until the child has exited (however long that takes on a busy machine).
    public func value() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if state.status == nil { state.awaiting.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Blocks the calling thread until the child has exited: for `defer` blocks and other
    /// synchronous code, after the child was told to stop.
    public func wait() -> Int32 {
        wait(timeout: .distantFuture) ?? -1
    }

    /// Blocks until the child has exited or `timeout` passes (nil then): for a child that may hang
    /// on its own, such as a browser, which the caller then kills.
    public func wait(timeout: DispatchTime) -> Int32? {
        let semaphore = DispatchSemaphore(value: 0)
        let status = state.withLock { state -> Int32? in
            if state.status == nil { state.blocked.append(semaphore) }
            return state.status
        }
        if let status { return status }
        _ = semaphore.wait(timeout: timeout)
        return state.withLock { $0.status }
    }
}
