import CRMRPC
import Foundation

/// Calls the runtime refused before their handler ran (no, invalid or expired credentials; no
/// allowed role; the principal's rate limit), recorded so that "who tried to read C0001318" finds
/// them — cheaply and within bounds, since such refusals come in floods (a runaway client, a
/// scanner, a caller past its rate limit).
///
/// Repeats are coalesced per principal, method and status, in windows of ``refusalWindowMillis``:
/// the first refusal of a window is written at once, like any record, and its answer waits for the
/// commit; the repeats that follow within the window are answered at once and counted in memory
/// (with the distinct customers they named, up to ``refusalSubjectLimit``), then written as one
/// record — rule ``repeatedRefusalRule``, count = the repeats, peer and request id of the last —
/// when the window is over (at the key's next refusal, or the next new window of any key), before
/// a query or an export reads the trail, and when the service stops. So a flood costs at most two
/// records per principal, method, status and window, and memory for one window per such key (the
/// principals are the configured ones and "-"; the methods the audited ones). What a crash can
/// lose is the count of a window's repeats, never the first refusal.
extension AuditTrail {
    /// The length of a coalescing window: one minute.
    public static let refusalWindowMillis: Int64 = 60_000
    /// The distinct customers a coalesced record lists at most; the rule says when more were named.
    public static let refusalSubjectLimit = 1_000
    /// The aggregate rule of a record that stands for a window's repeated refusals.
    public static let repeatedRefusalRule = "refusal repeated within the window of the record before with this principal, method and status"

    struct RefusalKey: Hashable {
        var principal: String
        var method: String
        var status: StatusCode
    }

    struct RefusalWindow {
        var opened: Int64
        var repeats: UInt64 = 0
        var last: AuditedCall?
        var subjects: [String] = []
        var seen: Set<String> = []
        var unlisted = false

        mutating func add(_ call: AuditedCall) {
            repeats += 1
            last = call
            for id in call.subjectIDs where !seen.contains(id) {
                guard subjects.count < AuditTrail.refusalSubjectLimit else {
                    unlisted = true
                    break
                }
                seen.insert(id)
                subjects.append(id)
            }
        }

        /// The record of the repeats, or nil when there were none.
        var summary: AuditedCall? {
            guard var call = last, repeats > 0 else { return nil }
            call.subjectIDs = subjects
            call.aggregateRule = AuditTrail.repeatedRefusalRule + (unlisted ? "; customers past the first \(AuditTrail.refusalSubjectLimit) not listed" : "")
            call.aggregateCount = repeats
            return call
        }
    }

    public func recordRefusal(_ call: AuditedCall) -> Task<Void, any Error>? {
        let key = RefusalKey(principal: call.principal, method: call.method, status: call.status)
        let time = now()
        let summaries = refusalWindows.withLock { windows -> [AuditedCall]? in
            if var window = windows[key], time - window.opened < Self.refusalWindowMillis {
                window.add(call)
                windows[key] = window
                return nil
            }
            // A new window: close every window that is over (this key's among them).
            var over: [AuditedCall] = []
            for (other, window) in windows where time - window.opened >= Self.refusalWindowMillis {
                if let summary = window.summary { over.append(summary) }
                windows[other] = nil
            }
            windows[key] = RefusalWindow(opened: time)
            return over
        }
        guard let summaries else { return nil }
        return Task {
            for summary in summaries { try await self.record(summary) }
            try await self.record(call)
        }
    }

    /// Writes the repeats counted in every open window and closes them all (the next refusal of
    /// each key opens a new window): before the trail is read or exported, and when the service stops.
    public func flushRefusals() async throws {
        let summaries = refusalWindows.withLock { windows -> [AuditedCall] in
            let all = windows.values.compactMap(\.summary)
            windows.removeAll()
            return all
        }
        for summary in summaries { try await record(summary) }
    }
}
