import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port that nothing listens on and nothing else can take while it is held: a
/// socket bound to 127.0.0.1 on port 0, never listening, without `SO_REUSEADDR`.
///
/// Why: a test that wants "an endpoint that is down" and starts a server only to shut it down
/// frees its port, and with the suites running in parallel another test's server may bind that
/// very port a moment later — a CI run saw a call to the "down" endpoint reach a stranger's server
/// and end in DEADLINE_EXCEEDED instead of UNAVAILABLE. A bound socket that never listens makes the
/// kernel refuse connections to the port (a reset, as for any closed port), and because it lacks
/// `SO_REUSEADDR` no other socket may bind the port, so the kernel's choice of a free port skips
/// it. ``release()`` gives the port back, for a test that then starts its server on it.
public final class ReservedPort: Sendable {
    /// The reserved port number.
    public let port: Int
    private let descriptor: Mutex<Int32?>

    /// Reserves a port, or throws the `errno` of the step that failed.
    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ReservedPortError(step: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let failure = errno
            close(descriptor)
            throw ReservedPortError(step: "bind", errno: failure)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(descriptor, $0, &length)
            }
        }
        guard named == 0 else {
            let failure = errno
            close(descriptor)
            throw ReservedPortError(step: "getsockname", errno: failure)
        }
        self.descriptor = Mutex(descriptor)
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Gives the port back (closes the socket); later calls do nothing.
    public func release() {
        let held = descriptor.withLock { held -> Int32? in
            defer { held = nil }
            return held
        }
        if let held { close(held) }
    }

    deinit { release() }
}

/// Why a port could not be reserved.
public struct ReservedPortError: Error, CustomStringConvertible {
    /// The call that failed.
    public let step: String
    /// Its `errno`.
    public let errno: Int32

    public var description: String { "reserving a loopback port: \(step) failed with errno \(errno)" }
}
