/// The inner loops of histogram building: add each row's (gradient, hessian) pair to the slot of
/// its code, for four features (or one) per pass over the rows.
///
/// Kept apart from `TreeGrower` because they are the hot spot of training and are tuned on their
/// own: pointers instead of arrays (no bounds checks or retains in the loop), four features per
/// pass so the row's pair is loaded once and four independent adds are in flight.
enum HistogramKernels {
    typealias Slots = UnsafeMutablePointer<SIMD2<Double>>

    /// Fills the histograms of four features in one pass over a node's rows: the row's pair is
    /// loaded once, and four independent adds are in flight.
    ///
    /// A feature with few distinct values sends consecutive rows to the same slot, and each add
    /// then waits for the previous one's store. On long passes, odd rows therefore go to a second
    /// copy of the four histograms (`spare`, 4 x 256 slots) added in at the end, halving that chain.
    /// The split depends only on the row's position in the pass, so sums do not depend on threads.
    static func accumulateFour(
        columns: (UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>),
        slots: (Slots, Slots, Slots, Slots), slotCounts: (Int, Int, Int, Int), spare: Slots,
        rows: UnsafePointer<Int32>?, pairs: UnsafePointer<Float>, count: Int
    ) {
        let (c0, c1, c2, c3) = columns
        let (s0, s1, s2, s3) = slots
        @inline(__always)
        func pair(_ i: Int) -> SIMD2<Double> {
            SIMD2<Double>(Double(pairs[2 * i]), Double(pairs[2 * i + 1]))
        }
        guard count >= 4_096 else {
            for i in 0..<count {
                let row = rows.map { Int($0[i]) } ?? i
                let p = pair(i)
                s0[Int(c0[row])] += p
                s1[Int(c1[row])] += p
                s2[Int(c2[row])] += p
                s3[Int(c3[row])] += p
            }
            return
        }
        let t0 = spare, t1 = spare + 256, t2 = spare + 512, t3 = spare + 768
        spare.initialize(repeating: .zero, count: 1_024)
        let evenEnd = count & ~1
        if let rows {
            for i in stride(from: 0, to: evenEnd, by: 2) {
                let a = Int(rows[i]), b = Int(rows[i + 1])
                let pa = pair(i), pb = pair(i + 1)
                s0[Int(c0[a])] += pa
                t0[Int(c0[b])] += pb
                s1[Int(c1[a])] += pa
                t1[Int(c1[b])] += pb
                s2[Int(c2[a])] += pa
                t2[Int(c2[b])] += pb
                s3[Int(c3[a])] += pa
                t3[Int(c3[b])] += pb
            }
        } else {
            for a in stride(from: 0, to: evenEnd, by: 2) {
                let pa = pair(a), pb = pair(a + 1)
                s0[Int(c0[a])] += pa
                t0[Int(c0[a + 1])] += pb
                s1[Int(c1[a])] += pa
                t1[Int(c1[a + 1])] += pb
                s2[Int(c2[a])] += pa
                t2[Int(c2[a + 1])] += pb
                s3[Int(c3[a])] += pa
                t3[Int(c3[a + 1])] += pb
            }
        }
        if evenEnd < count {
            let last = count - 1
            let row = rows.map { Int($0[last]) } ?? last
            let p = pair(last)
            s0[Int(c0[row])] += p
            s1[Int(c1[row])] += p
            s2[Int(c2[row])] += p
            s3[Int(c3[row])] += p
        }
        for slot in 0..<slotCounts.0 { s0[slot] += t0[slot] }
        for slot in 0..<slotCounts.1 { s1[slot] += t1[slot] }
        for slot in 0..<slotCounts.2 { s2[slot] += t2[slot] }
        for slot in 0..<slotCounts.3 { s3[slot] += t3[slot] }
    }

    /// `accumulateFour` for several nodes in one pass: entry i adds row `rows[i]` to the histogram
    /// `targets[owners[i]]`, whose four features' first slots are at `offsets`.
    static func accumulateFourMany(
        columns: (UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>),
        offsets: (Int, Int, Int, Int), targets: UnsafePointer<Slots>,
        rows: UnsafePointer<Int32>, owners: UnsafePointer<UInt16>, pairs: UnsafePointer<Float>, count: Int
    ) {
        let (c0, c1, c2, c3) = columns
        let (o0, o1, o2, o3) = offsets
        for i in 0..<count {
            let row = Int(rows[i])
            let target = targets[Int(owners[i])]
            let pair = SIMD2<Double>(Double(pairs[2 * i]), Double(pairs[2 * i + 1]))
            target[o0 + Int(c0[row])] += pair
            target[o1 + Int(c1[row])] += pair
            target[o2 + Int(c2[row])] += pair
            target[o3 + Int(c3[row])] += pair
        }
    }

    static func accumulateOneMany(
        column: UnsafePointer<UInt8>, offset: Int, targets: UnsafePointer<Slots>,
        rows: UnsafePointer<Int32>, owners: UnsafePointer<UInt16>, pairs: UnsafePointer<Float>, count: Int
    ) {
        for i in 0..<count {
            let target = targets[Int(owners[i])]
            target[offset + Int(column[Int(rows[i])])] += SIMD2<Double>(Double(pairs[2 * i]), Double(pairs[2 * i + 1]))
        }
    }

    static func accumulateOne(
        column: UnsafePointer<UInt8>, slots: UnsafeMutablePointer<SIMD2<Double>>,
        rows: UnsafePointer<Int32>?, pairs: UnsafePointer<Float>, count: Int
    ) {
        if let rows {
            for i in 0..<count {
                slots[Int(column[Int(rows[i])])] += SIMD2<Double>(Double(pairs[2 * i]), Double(pairs[2 * i + 1]))
            }
        } else {
            for row in 0..<count {
                slots[Int(column[row])] += SIMD2<Double>(Double(pairs[2 * row]), Double(pairs[2 * row + 1]))
            }
        }
    }
}
