/// One line of a loading progress bar: the bar, the share done, customers done of the total, the
/// event rate and the time left, e.g.
/// `[██████████░░░░░░░░░░]  50% 1,000/2,000 customers · 41,200 events/s · 0:52 left` (under 80 columns).
public enum ProgressLine {
    /// - Parameters:
    ///   - done: customers loaded so far (including those of an earlier, interrupted run).
    ///   - doneThisRun: of them, loaded by this run (the rate and time left come from these).
    ///   - events: events loaded by this run.
    ///   - elapsed: seconds this run has been loading.
    public static func render(done: Int, total: Int, doneThisRun: Int, events: Int, elapsed: Double, barWidth: Int = 20) -> String {
        let fraction = total > 0 ? min(1, max(0, Double(done) / Double(total))) : 1
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
        let percent = DisplayWidth.pad("\(Int((fraction * 100).rounded(.down)))%", to: 4, right: true)
        var parts = ["[\(bar)] \(percent) \(Format.count(done))/\(Format.count(total)) customers"]
        if elapsed > 0 {
            parts.append("\(Format.count(Int((Double(events) / elapsed).rounded()))) events/s")
        }
        if done >= total {
            parts.append("done in \(duration(elapsed))")
        } else if doneThisRun > 0, elapsed > 0 {
            let left = Double(total - done) * elapsed / Double(doneThisRun)
            parts.append("\(duration(left)) left")
        } else {
            parts.append("estimating time left…")
        }
        return parts.joined(separator: " · ")
    }

    /// Seconds as "m:ss", or "h:mm:ss" from an hour on.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "–" }
        let total = Int(seconds.rounded())
        let hours = total / 3_600, minutes = total / 60 % 60, secs = total % 60
        let mm = hours > 0 && minutes < 10 ? "0\(minutes)" : "\(minutes)"
        let ss = secs < 10 ? "0\(secs)" : "\(secs)"
        return hours > 0 ? "\(hours):\(mm):\(ss)" : "\(mm):\(ss)"
    }
}
