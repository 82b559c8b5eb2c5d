import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A test's child process (a service executable, a script, Prometheus, Chromium), started with
/// `posix_spawn` directly and waited for on a thread of its own, never on Swift's cooperative pool.
///
/// Why not Foundation's `Process`: on Linux it emulates "close every other descriptor in the child"
/// by listing /proc/self/fd in the parent before each spawn, and that listing copies each entry's
/// whole 256-byte name field out of the directory buffer. With more than about 1,360 descriptors
/// open (a whole test run's services, clients and stores at their peak) the listing needs a second
/// buffer and the copy of an entry near the first one's end reads past it: a CI run crashed with
/// SIGSEGV in `Process.run()` that way. The listing also raced with other threads opening
/// descriptors (a child inherited another child's termination socket and that child's exit was
/// never seen). Here the child itself closes every descriptor from 3 up
/// (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34) after its standard streams are
/// opened: nothing is listed, nothing leaks into a child, and starts need no lock.
public final class ChildProcess: Sendable {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable, Equatable {
        /// /dev/null.
        case discard
        /// Appended to this file, which is created when missing.
        case appending(to: URL)
    }

    /// The child's process id (only meaningful while ``isRunning``).
    public let processIdentifier: pid_t
    /// When the child ended, and with what status.
    public let exit: ProcessExit

    private init(processIdentifier: pid_t, exit: ProcessExit) {
        self.processIdentifier = processIdentifier
        self.exit = exit
    }

    /// Whether the child has not exited yet.
    public var isRunning: Bool { exit.status == nil }

    /// Sends `signal` while the child runs (an exited child's id may belong to another process).
    public func send(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Starts `executable` with `arguments`, standard input from /dev/null, standard output to
    /// `output` and standard error to `errors` (the same place when nil), in `directory` (this
    /// process's own when nil), with this process's environment, in a process group of its own.
    public static func start(
        _ executable: URL, arguments: [String], directory: URL? = nil, output: Output = .discard, errors: Output? = nil
    ) throws -> ChildProcess {
        let path = executable.path
        var actions = posix_spawn_file_actions_t()
        try check(posix_spawn_file_actions_init(&actions), "file actions", path)
        defer { posix_spawn_file_actions_destroy(&actions) }
        try check(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0), "standard input", path)
        try open(output, as: STDOUT_FILENO, in: &actions, path)
        if let errors, errors != output {
            try open(errors, as: STDERR_FILENO, in: &actions, path)
        } else {
            try check(posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO), "standard error", path)
        }
        if let directory {
            try check(GlibcSpawnExtensions.addChangeDirectory(&actions, directory.path), "directory \(directory.path)", path)
        }
        try check(GlibcSpawnExtensions.addCloseFrom(&actions, STDERR_FILENO + 1), "closing inherited descriptors", path)

        var attributes = posix_spawnattr_t()
        try check(posix_spawnattr_init(&attributes), "attributes", path)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own (as Foundation does), every signal unblocked (the spawning thread may
        // be a Dispatch worker with signals blocked) and SIGPIPE back to its default.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        try check(posix_spawnattr_setsigmask(&attributes, &noSignals), "signal mask", path)
        try check(posix_spawnattr_setsigdefault(&attributes, &pipeSignal), "signal defaults", path)
        try check(posix_spawnattr_setpgroup(&attributes, 0), "process group", path)
        try check(
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)),
            "attribute flags", path)

        let argv = CStringArray([path] + arguments)
        let environment = CStringArray(ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" })
        var pid: pid_t = 0
        try check(posix_spawn(&pid, path, &actions, &attributes, argv.pointers, environment.pointers), "spawn", path)

        let exit = ProcessExit()
        let waiter = Thread { [pid] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            // Foundation's convention: the exit code, or the signal number that ended the child.
            let signal = status & 0x7f
            exit.ended(signal == 0 ? (status >> 8) & 0xff : signal)
        }
        waiter.name = "wait \(executable.lastPathComponent) \(pid)"
        waiter.start()
        return ChildProcess(processIdentifier: pid, exit: exit)
    }

    private static func open(_ output: Output, as descriptor: Int32, in actions: inout posix_spawn_file_actions_t, _ path: String) throws {
        switch output {
        case .discard:
            try check(posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0), "output", path)
        case .appending(let file):
            try check(
                posix_spawn_file_actions_addopen(&actions, descriptor, file.path, O_WRONLY | O_APPEND | O_CREAT, 0o644),
                "output \(file.path)", path)
        }
    }

    private static func check(_ result: Int32, _ step: String, _ executable: String) throws {
        guard result == 0 else { throw ChildProcessError(executable: executable, step: step, code: result) }
    }
}

/// A child that could not be started: which executable, at which step, and the system's reason.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let executable: String
    public let step: String
    public let code: Int32

    public var description: String {
        "cannot start \(executable) (\(step)): \(String(cString: strerror(code)))"
    }
}

/// The two glibc spawn actions Swift's Glibc module does not import (they are GNU extensions),
/// looked up by name: closing every descriptor from a number up (glibc 2.34) and changing directory
/// (glibc 2.29).
private enum GlibcSpawnExtensions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ first: Int32) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return ENOSYS }
        return unsafeBitCast(symbol, to: CloseFrom.self)(&actions, first)
    }

    static func addChangeDirectory(_ actions: inout posix_spawn_file_actions_t, _ directory: String) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return ENOSYS }
        return directory.withCString { unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, $0) }
    }
}

/// A NULL-terminated array of C strings that lives as long as the value (for argv and envp).
private final class CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    deinit {
        for index in 0..<count { free(pointers[index]) }
        pointers.deallocate()
    }
}

/// The exit status of a child started by ``ChildProcess/start(_:arguments:directory:output:errors:)``,
/// awaited or waited for.
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
