/// What others see of a licence. Pure functions: the window and app views are
/// display-masked by field class.
public enum DisclosureView {
    /// A licence as a window or the holder's app list shows it: number and fields masked.
    public static func display(_ licence: Licence, masks: MaskTable, today: CalendarDate) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        for field in licence.type.fields {
            guard let value = licence.fields[field.name], let masked = masks.mask(value, as: field.fieldClass) else { continue }
            fields[field.name] = .string(masked)
        }
        var view = summary(licence, masks: masks, today: today)
        if case .object(var members) = view {
            members["fields"] = .object(fields)
            members["issuer"] = .string(licence.issuer)
            members["valid_from"] = .string(licence.validFrom.text)
            view = .object(members)
        }
        return view
    }

    /// A wallet entry: `{"id","type","name","number","status","valid_until"}` with the number masked.
    public static func summary(_ licence: Licence, masks: MaskTable, today: CalendarDate) -> JSONValue {
        .object([
            "id": .string(licence.id),
            "type": .string(licence.type.code),
            "name": .string(licence.type.name),
            "number": .string(masks.mask(licence.number, as: licence.type.numberClass) ?? ""),
            "status": .string(licence.status(today: today).rawValue),
            "valid_until": licence.validUntil.map { .string($0.text) } ?? .null,
        ])
    }
}
