import Hummingbird
import MaShangBan

/// 码上问 / 马上答: categories (admin sets, anyone reads), questions (the enterprise asks, the
/// unit handling it answers), `/v1/questions/{id}/...`.
struct QuestionRoutes {
    let auth: Authenticator
    let questions: Questions

    struct CategoryRequest: Decodable {
        let name: String
        let limitWorkingDays: Int
        enum CodingKeys: String, CodingKey {
            case name
            case limitWorkingDays = "limit_working_days"
        }
    }

    struct Acceptance: Decodable {
        let opinion: String
        let handler: String
    }

    struct Rating: Decodable {
        let score: Int
        let comment: String?
    }

    struct Progress: Decodable { let text: String }
    struct Completion: Decodable { let answer: String }
    struct Transfer: Decodable {
        let unit: String
        let reason: String
    }

    func register(on router: Router<AppRequestContext>) {
        router.group("v1/units/{code}/question-categories").add(middleware: Authorize(.admin, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(CategoryRequest.self)
            let category = try await questions.setCategory(unit: try context.parameters.require("code"), name: body.name,
                                                           limit: body.limitWorkingDays, by: context.actor)
            return JSONResponse.make(QuestionCategoryBody(category: category), status: .created)
        }
        router.group("v1/units/{code}/question-categories").add(middleware: Authorize.anyRole(auth)).get { _, context in
            JSONResponse.make(ListBody(categories: try await questions.categories(of: try context.parameters.require("code"))))
        }
        router.group("v1/questions").add(middleware: Authorize(.enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Questions.Ask.self)
            return JSONResponse.make(QuestionBody(view: try await questions.ask(body, client: try context.requireClient())), status: .created)
        }
        router.group("v1/questions").add(middleware: Authorize(.enterprise, .unit, auth: auth)).get { _, context in
            JSONResponse.make(ListBody(questions: try await questions.list(client: try context.requireClient())))
        }
        router.group("v1/questions").add(middleware: Authorize(.enterprise, .unit, .supervisor, .admin, auth: auth)).get("{id}") { _, context in
            JSONResponse.make(QuestionBody(view: try await questions.find(try context.parameters.require("id"), client: try context.requireClient())))
        }
        router.group("v1/questions/{id}/rating").add(middleware: Authorize(.enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Rating.self)
            let rating = try await questions.rate(try context.parameters.require("id"), score: body.score, comment: body.comment,
                                                  client: try context.requireClient())
            return JSONResponse.make(QuestionRatingBody(rating: rating), status: .created)
        }
        router.group("v1/question-stats").add(middleware: Authorize(.supervisor, .admin, auth: auth)).get { _, context in
            JSONResponse.make(QuestionStatsBody(report: try await questions.stats(client: try context.requireClient())))
        }
        let unit = router.group("v1/questions/{id}").add(middleware: Authorize(.unit, auth: auth))
        func step(_ path: RouterPath, _ make: @escaping @Sendable (Request) async throws -> Questions.Step) {
            unit.post(path) { request, context in
                let view = try await questions.act(try context.parameters.require("id"), try await make(request), client: try context.requireClient())
                return JSONResponse.make(QuestionBody(view: view))
            }
        }
        step("accept") { request in
            let body = try await request.decodeJSON(Acceptance.self)
            return .accept(opinion: body.opinion, handler: body.handler)
        }
        step("progress") { .progress(try await $0.decodeJSON(Progress.self).text) }
        step("complete") { .complete(answer: try await $0.decodeJSON(Completion.self).answer) }
        step("transfer") { request in
            let body = try await request.decodeJSON(Transfer.self)
            return .transfer(to: body.unit, reason: body.reason)
        }
    }
}
