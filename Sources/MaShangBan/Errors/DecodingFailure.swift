/// Turns a `DecodingError` into a detail that names the field and what was expected,
/// never the value (it could be personal data).
public enum DecodingFailure {
    /// A safe description of a decoding failure: the field path and what was expected, never the value.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "the request body must be a JSON object" }
            return "field `\(path(context.codingPath))` must be \(jsonTypeName(type))"
        case .valueNotFound(let type, let context):
            return "field `\(path(context.codingPath))` must be \(jsonTypeName(type)), not null"
        case .keyNotFound(let key, let context):
            return "field `\(path(context.codingPath + [key]))` is required"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the request body is not valid JSON" }
            return "field `\(path(context.codingPath))` has an invalid value"
        @unknown default:
            return "the request body could not be read"
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "of the documented type"
        }
    }
}
