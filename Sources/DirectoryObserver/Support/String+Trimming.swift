extension String {
    /// The string without leading or trailing whitespace and newlines (password and pid files usually
    /// end with one).
    func trimmingWhitespace() -> String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return String(text)
    }
}
