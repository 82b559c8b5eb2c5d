import CRMTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

/// Children started at once from many threads each hold their own end of Foundation's termination
/// socket and no other child's: an inherited end would hide that other child's exit for as long as
/// this one lives, which is how a CI run once froze (see ``ChildProcess``). The race is a matter of
/// timing: with the start lock removed, this test failed in 4 of 8 runs on a 2-core machine, so it
/// catches a regression over a few CI runs rather than in every one.
@Suite struct ChildProcessTests {
    @Test func childrenStartedTogetherInheritNoOtherChildsTerminationSocket() throws {
        // Many open descriptors widen the window between Foundation listing them and spawning, as
        // in a whole test run with its services' sockets and stores.
        let held = (0..<800).map { _ in open("/dev/null", O_RDONLY) }
        defer { for descriptor in held where descriptor >= 0 { close(descriptor) } }

        let count = 128
        let started = Mutex<[(pid: Int32, exit: ProcessExit)]>([])
        DispatchQueue.concurrentPerform(iterations: count) { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["600"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            if let exit = try? ChildProcess.launch(process) {
                started.withLock { $0.append((process.processIdentifier, exit)) }
            }
        }
        let children = started.withLock { $0 }
        defer {
            // Every child first, then the waits: a child that did inherit another's socket would
            // otherwise hold up the wait for that other one.
            for child in children { kill(child.pid, SIGKILL) }
            for child in children { _ = child.exit.wait() }
        }
        #expect(children.count == count)
        for child in children {
            #expect(Self.sockets(of: child.pid) == 1, "child \(child.pid) holds another child's termination socket")
        }
    }

    @Test func anExitIsAwaitedAndWaitedForWithItsStatus() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 7"]
        let exit = try ChildProcess.launch(process)
        #expect(await exit.value() == 7)
        #expect(exit.wait() == 7)
        #expect(exit.status == 7)
    }

    /// How many sockets the process has open (its descriptors in /proc).
    private static func sockets(of pid: Int32) -> Int {
        let folder = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return entries.filter { entry in
            ((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\(entry)")) ?? "").hasPrefix("socket:")
        }.count
    }
}
