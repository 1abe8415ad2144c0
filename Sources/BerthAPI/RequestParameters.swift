import BerthCore
import Hummingbird

/// Query and path parameters read the one way every route reads them: a bad value is 400 naming
/// the parameter and what was expected.
package enum RequestParameters {
    /// A resource or project name (a lowercase DNS label).
    package static func name(_ text: String, _ parameter: String) throws(APIError) -> String {
        do {
            try ResourceName.validate(text)
            return text
        } catch {
            throw APIError.badParameter(parameter, "\(parameter) \"\(text)\" is not a valid name: \(error.issues.map(\.message).joined(separator: "; "))")
        }
    }

    /// A whole number within `range`, or nil when the parameter is absent.
    static func integer(_ text: String?, _ parameter: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badParameter(parameter, "\(parameter) is a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// `true` or `false`, or nil when the parameter is absent.
    static func boolean(_ text: String?, _ parameter: String) throws(APIError) -> Bool? {
        switch text {
        case nil: return nil
        case "true": return true
        case "false": return false
        case let text?: throw APIError.badParameter(parameter, "\(parameter) is true or false, not \"\(text)\"")
        }
    }

    /// A job state of a `state` filter.
    package static func jobState(_ text: String) throws(APIError) -> JobState {
        guard let state = JobState(rawValue: text) else {
            throw APIError.badParameter("state", "unknown state \"\(text)\"; use pending, queued, started, finished, failed or cancelled")
        }
        return state
    }

    /// The `label` filters of a list (`key=value`, repeatable, all apply); at most 20.
    package static func labels(_ request: Request) throws(APIError) -> [LabelSelector] {
        try labels(request.uri.queryParameters.getAll("label").map { String($0) })
    }

    /// Label filters from their texts (`key=value`); at most 20.
    package static func labels(_ texts: [String]) throws(APIError) -> [LabelSelector] {
        guard texts.count <= 20 else { throw APIError.badParameter("label", "at most 20 label filters, found \(texts.count)") }
        var selectors: [LabelSelector] = []
        for text in texts {
            do {
                selectors.append(try LabelSelector(parsing: text))
            } catch {
                throw APIError.badParameter("label", error.issues.map(\.message).joined(separator: "; "))
            }
        }
        return selectors
    }

    /// The `project` filter of a list: the one asked for, else the caller's project limit (a
    /// limited token lists its own project), else nil for every project.
    static func project(_ request: Request, _ context: APIRequestContext) throws(APIError) -> String? {
        if let text = request.uri.queryParameters.get("project") { return try name(text, "project") }
        return try context.projectLimit()
    }
}
