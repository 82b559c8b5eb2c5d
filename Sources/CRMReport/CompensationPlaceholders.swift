/// Stand-ins for the compensation figures, which this demo does not load yet: the compensation
/// service (managers, assignments, monthly settlement) is being rebuilt, so the manager's monthly
/// statement of the walkthrough and the report's top-managers chart say so instead of showing
/// numbers. Each is one function, to be replaced when compensation's statement RPCs exist.
public enum CompensationPlaceholders {
    /// What both stand-ins say.
    public static let notLoaded = "compensation figures: not loaded in this demo"

    /// The walkthrough's "one manager's monthly statement" step (plain text for the terminal).
    public static func managerMonthlyStatement(managerID: String, month: String) -> String {
        "  manager \(managerID.isEmpty ? "(none)" : managerID), \(month): \(notLoaded)"
    }

    /// The report's "top managers" section (an HTML fragment with an empty chart frame).
    public static func topManagersSection() -> String {
        """
        <section id="top-managers"><h2>Top client managers · 客户经理排名</h2>
        <div class="placeholder" id="top-managers-placeholder">\(Markup.escape(notLoaded))</div></section>
        """
    }
}
