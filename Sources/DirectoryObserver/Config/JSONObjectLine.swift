/// One JSON object on one line from string members, in the order given, every string escaped per RFC 8259:
/// what a JSON log line is made of.
public enum JSONObjectLine {
    public static func render(_ members: [(String, String)]) -> String {
        JSONText.object(members.map { ($0.0, .string($0.1)) }).compact()
    }
}
