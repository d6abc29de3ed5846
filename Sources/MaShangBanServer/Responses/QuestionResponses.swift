import MaShangBan

struct QuestionCategoryBody: ResponseBody {
    let category: QuestionCategory
    var json: JSONValue {
        .object(["unit": .string(category.unit), "name": .string(category.name), "limit_working_days": .int(Int64(category.limitWorkingDays))])
    }
}

/// A question with its three clocks and its history. The handler's name is masked.
struct QuestionBody: ResponseBody {
    let view: QuestionView
    var json: JSONValue {
        let q = view.question
        let clocks = JSONValue.object(Dictionary(uniqueKeysWithValues: QuestionClock.allCases.map { clock in
            (clock.rawValue, JSONValue.object(["due": .time(q.due[clock]), "met_at": .time(q.met[clock]), "overdue": .bool(q.overdue.contains(clock))]))
        }))
        return .object([
            "id": .string(q.id), "enterprise": .string(q.enterprise), "unit": .object(["code": .string(q.unit), "name": .string(view.unitName)]),
            "category": .string(q.category), "limit_working_days": .int(Int64(q.limitDays)), "title": .string(q.title), "body": .string(q.body),
            "status": .string(q.status.rawValue), "handler": .string(q.handler.flatMap { MaskRule.personName.apply($0) }),
            "accept_by": .time(q.due[.accept]), "reply_by": .time(q.due[.reply]), "complete_by": .time(q.due[.complete]), "clocks": clocks,
            "history": .array(view.history.map { event in
                .object(["event": .string(event.kind), "unit": .string(event.unit), "to": .string(event.to), "text": .string(event.text),
                         "at": .time(event.at)])
            }),
            "created_at": .time(q.createdAt),
        ])
    }
}

extension ListBody where Element == QuestionCategoryBody {
    init(categories: [QuestionCategory]) { self.init(name: "categories", elements: categories.map(QuestionCategoryBody.init)) }
}

extension ListBody where Element == QuestionBody {
    init(questions: [QuestionView]) { self.init(name: "questions", elements: questions.map(QuestionBody.init)) }
}

/// A rating of an answer (码上评's five levels).
struct QuestionRatingBody: ResponseBody {
    let rating: VisitRating
    var json: JSONValue {
        .object(["question": .string(rating.visit), "unit": .string(rating.unit), "enterprise": .string(rating.enterprise),
                 "score": .int(Int64(rating.score)), "level": .string(rating.level), "comment": .string(rating.comment),
                 "created_at": .time(rating.createdAt)])
    }
}

/// `GET /v1/question-stats`. Rates, hours and averages are decimal strings with two places.
struct QuestionStatsBody: ResponseBody {
    let report: QuestionStatsReport
    var json: JSONValue {
        let decimal = { (value: Double?) in value.map { JSONValue.string(String(format: "%.2f", $0)) } ?? .null }
        return .object([
            "units": .array(report.units.map { row in
                .object(["unit": .string(row.unit), "name": .string(row.name), "questions": .int(Int64(row.questions)),
                         "completed": .int(Int64(row.completed)),
                         "on_time": .object(Dictionary(uniqueKeysWithValues: QuestionClock.allCases.map { ($0.rawValue, decimal(row.onTime[$0])) })),
                         "working_hours_to_accept": decimal(row.hoursToAccept), "working_hours_to_answer": decimal(row.hoursToAnswer),
                         "ratings": .int(Int64(row.ratings)), "average_score": decimal(row.averageScore)])
            }),
            "overdue": .array(report.overdue.map { item in
                .object(["question": .string(item.question), "unit": .string(item.unit),
                         "clocks": .array(QuestionClock.allCases.filter(item.clocks.contains).map { .string($0.rawValue) })])
            }),
            "ratings": .array(report.ratings.map { QuestionRatingBody(rating: $0).json }),
        ])
    }
}
