import Testing

/// The scenario enums of parameterised tests appear in test reports under their raw value, the case's name.
extension CustomTestStringConvertible where Self: RawRepresentable, RawValue == String {
    var testDescription: String { rawValue }
}
