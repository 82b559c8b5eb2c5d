import NIOSSL
import Synchronization

/// An SSL context built from files and replaced whole on reload: what both sides of a connection
/// need to rotate certificates without a restart. Connections already made keep the context they
/// were made with; the next one gets the new context.
final class ReloadableSSLContext: Sendable {
    private let state: Mutex<(files: TLSFiles, context: NIOSSLContext)>
    private let make: @Sendable (TLSFiles) throws -> NIOSSLContext

    init(_ files: TLSFiles, make: @escaping @Sendable (TLSFiles) throws -> NIOSSLContext) throws {
        self.make = make
        state = Mutex((files, try make(files)))
    }

    var current: NIOSSLContext { state.withLock { $0.context } }

    var files: TLSFiles { state.withLock { $0.files } }

    /// Reads the files again (or `files`, if given); on any error the previous context stays.
    func reload(_ files: TLSFiles?) throws {
        let files = files ?? self.files
        let context = try make(files)
        state.withLock { $0 = (files, context) }
    }
}
