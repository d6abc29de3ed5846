/// A service hall's code (办事大厅): a terminal's `hall`, a consent's narrowing to one hall,
/// and the `aud` of the QR tokens that name it. One rule for all three.
public enum Hall {
    /// The longest hall code: a token that names its hall must stay within 300 bytes.
    public static let maximumLength = 16
    private static let shape = CodeShape("A-Za-z0-9._-", lengths: 1...maximumLength)

    /// 422 `validation_failed` naming `field` unless `hall` is 1 to 16 letters, digits, '.', '_' or '-'.
    public static func validate(_ hall: String, field: String) throws {
        guard shape.matches(hall) else {
            throw MSBError.validationFailed("\(field) must be 1 to \(maximumLength) letters, digits, '.', '_' or '-'")
        }
    }
}
