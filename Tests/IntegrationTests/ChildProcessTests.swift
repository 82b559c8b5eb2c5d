import CRMTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

/// Children of the test process start with exactly their three standard streams, whatever the test
/// process holds open and however many start at once, and their ends are seen with their status.
/// Foundation's `Process` failed both ways under a whole test run's load (see ``ChildProcess``).
@Suite struct ChildProcessTests {
    /// The test process holds 1,500 more descriptors, none marked close-on-exec (more than the
    /// ~1,360 at which Foundation's listing of /proc/self/fd read past its buffer and crashed a CI
    /// run), while 64 children start from many threads at once: each child has descriptors 0, 1
    /// and 2 and no other (an inherited socket of another child's would hide that child's exit;
    /// an inherited file would keep it open).
    @Test func childrenStartedTogetherInheritNoDescriptorBeyondTheirStandardStreams() throws {
        let held = (0..<1_500).map { _ in open("/dev/null", O_RDONLY) }
        defer { for descriptor in held where descriptor >= 0 { close(descriptor) } }
        #expect(held.allSatisfy { $0 >= 0 })

        let count = 64
        let started = Mutex<[ChildProcess]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: count) { _ in
            do {
                let child = try ChildProcess.start(URL(fileURLWithPath: "/bin/sleep"), arguments: ["600"])
                started.withLock { $0.append(child) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        let children = started.withLock { $0 }
        defer {
            for child in children { child.send(SIGKILL) }
            for child in children { _ = child.exit.wait() }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(children.count == count)
        // A child just started may hold a descriptor of its own for a moment (`sleep` reading its
        // locale as it starts: a CI run saw a fourth one); an inherited one never closes. So each
        // child is looked at until it shows its three streams alone, within one ceiling for all.
        let ceiling = DispatchTime.now() + .seconds(20)
        for child in children {
            while Self.descriptors(of: child.processIdentifier) != ["0", "1", "2"], DispatchTime.now() < ceiling {
                usleep(5_000)
            }
            #expect(Self.descriptors(of: child.processIdentifier) == ["0", "1", "2"], "child \(child.processIdentifier)")
        }
    }

    @Test func anExitIsAwaitedAndWaitedForWithItsStatus() async throws {
        let child = try ChildProcess.start(URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "exit 7"])
        #expect(await child.exit.value() == 7)
        #expect(child.exit.wait() == 7)
        #expect(child.exit.status == 7)
        #expect(!child.isRunning)
    }

    /// A child ended by a signal reports the signal's number, as Foundation's `terminationStatus` did.
    @Test func aChildEndedByASignalReportsTheSignal() async throws {
        let child = try ChildProcess.start(URL(fileURLWithPath: "/bin/sleep"), arguments: ["600"])
        #expect(child.isRunning)
        child.send(SIGTERM)
        #expect(await child.exit.value() == SIGTERM)
    }

    /// Output and error go to their own files, appended; the directory is the one asked for.
    @Test func outputAndErrorAreAppendedInTheGivenDirectory() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.txt")
        let errors = folder.appendingPathComponent("err.txt")
        try "before\n".write(to: output, atomically: true, encoding: .utf8)
        let child = try ChildProcess.start(
            URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "pwd; echo problem >&2"], directory: folder,
            output: .appending(to: output), errors: .appending(to: errors))
        #expect(await child.exit.value() == 0)
        let resolved = folder.resolvingSymlinksInPath().path
        #expect(try String(contentsOf: output, encoding: .utf8) == "before\n\(resolved)\n")
        #expect(try String(contentsOf: errors, encoding: .utf8) == "problem\n")
    }

    /// A missing executable is an error that names it, not a child that exits at once.
    @Test func aMissingExecutableIsAnErrorNamingIt() throws {
        let missing = "/nonexistent/crm-\(UUID().uuidString)"
        let error = #expect(throws: ChildProcessError.self) {
            try ChildProcess.start(URL(fileURLWithPath: missing), arguments: [])
        }
        #expect(error?.executable == missing)
        #expect(error?.code == ENOENT)
    }

    /// The descriptors a process has open, by number.
    private static func descriptors(of pid: Int32) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).sorted()
    }
}
