extension Array {
    /// This array in a buffer of exactly its length, or itself when it has no spare room. An array
    /// filled an element at a time doubles its buffer as it grows, so it may hold up to half its
    /// room unused; the replica's columns and behaviour lists are compacted this way once filled.
    func withExactCapacity() -> [Element] {
        guard capacity > count else { return self }
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            _ = buffer.initialize(fromContentsOf: self)
            initialized = count
        }
    }
}
