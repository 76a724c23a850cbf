/// An aligned plain-text table: a header row and data rows, columns separated by two spaces, numbers
/// right-aligned. No line ends in blanks, so long names in the last column do not drag padding along.
public struct TextTable {
    /// How a column lines up.
    public enum Alignment: Sendable {
        case left
        case right
    }

    private let headers: [String]
    private let alignments: [Alignment]
    private var rows: [[String]] = []

    /// A table with these column headers and alignments (same count).
    public init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    /// Adds a row; it must have one cell per column.
    public mutating func append(_ cells: [String]) {
        precondition(cells.count == headers.count, "a row needs one cell per column")
        rows.append(cells)
    }

    /// The table as lines, header first.
    public func lines() -> [String] {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { cells in
            var line = ""
            for (column, cell) in cells.enumerated() {
                let gap = String(repeating: " ", count: widths[column] - cell.count)
                if column > 0 { line += "  " }
                let last = column == cells.count - 1
                switch alignments[column] {
                case .left: line += last ? cell : cell + gap
                case .right: line += gap + cell
                }
            }
            // An empty last cell (a total row) must not leave the padding of its column behind.
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}
