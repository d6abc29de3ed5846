import Foundation
import GRDB

/// Imports NDJSON (one licence per line) as it streams in. Every `batchSize` lines are
/// decoded, validated and sealed in parallel, then stored in one transaction: a bad line
/// is reported and never stops the good ones, and no line is half-applied. Memory stays
/// flat whatever the body size.
public final class BatchImport {
    /// What a batch import did: how many lines were stored, and each refused line with why.
    public struct Result: Sendable, Encodable {
        public var accepted = 0
        public var rejected: [Rejection] = []
    }

    public struct Rejection: Sendable, Encodable, Equatable {
        public let line: Int
        public let code: String
        public let detail: String
    }

    public static let maximumLineBytes = 1 << 20

    let library: LicenceLibrary
    let actor: AuditActor
    let batchSize: Int
    private var pending: [(line: Int, bytes: [UInt8])] = []
    private var partial: [UInt8] = []
    private var partialTooLong = false
    private var lineNumber = 0
    private var result = Result()
    private var types: [String: LicenceType]?
    private var inFlight: Task<(accepted: Int, rejected: [Rejection]), any Error>?

    public init(library: LicenceLibrary, actor: AuditActor, batchSize: Int = 2000) {
        self.library = library
        self.actor = actor
        self.batchSize = batchSize
    }

    /// Feeds the next chunk of the body.
    public func feed<Bytes: Collection<UInt8>>(_ chunk: Bytes) async throws {
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
            append(chunk[start..<newline])
            try await endLine()
            start = chunk.index(after: newline)
        }
        append(chunk[start...])
    }

    /// Ends the body: the last line (without a newline) and the last batch.
    public func finish() async throws -> Result {
        if !partial.isEmpty || partialTooLong { try await endLine() }
        try await flush()
        try await collectWrite()
        result.rejected.sort { $0.line < $1.line }
        return result
    }

    private func append(_ bytes: some Collection<UInt8>) {
        guard !partialTooLong else { return }
        if partial.count + bytes.count > Self.maximumLineBytes {
            partialTooLong = true
            partial = []
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private func endLine() async throws {
        lineNumber += 1
        defer {
            partial.removeAll(keepingCapacity: true)
            partialTooLong = false
        }
        if partialTooLong {
            reject(lineNumber, .payloadTooLarge(limit: Self.maximumLineBytes))
            return
        }
        if partial.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank lines are skipped
        pending.append((lineNumber, partial))
        if pending.count >= batchSize { try await flush() }
    }

    private func reject(_ line: Int, _ error: MSBError) {
        result.rejected.append(Rejection(line: line, code: error.code, detail: error.detail))
    }

    /// Decodes, validates and seals the pending lines in parallel (no database needed), then hands
    /// them to the writer. The write of one batch overlaps the sealing of the next; writes
    /// stay in order, so the audit chain records lines in the order they came.
    private func flush() async throws {
        guard !pending.isEmpty else { return }
        let lines = pending
        pending.removeAll(keepingCapacity: true)
        let library = self.library
        let actor = self.actor
        if types == nil { types = try await library.typesByCode() }
        let types = self.types ?? [:]
        let today = library.now()

        let parts = 4
        let size = (lines.count + parts - 1) / parts
        let sealed = try await withThrowingTaskGroup(of: [(Int, Sealing)].self) { group in
            for start in stride(from: 0, to: lines.count, by: size) {
                let chunk = lines[start..<min(start + size, lines.count)]
                group.addTask {
                    let decoder = JSONDecoder()
                    return try chunk.map { line, bytes in
                        do {
                            let submission = try decoder.decode(LicenceSubmission.self, from: Data(bytes))
                            let valid = try ValidatedLicence(submission, type: types[submission.type], today: today)
                            return (line, .sealed(try library.seal(valid)))
                        } catch let error as MSBError {
                            return (line, .rejected(error))
                        } catch let error as DecodingError {
                            return (line, .rejected(.badRequest(DecodingFailure.describe(error))))
                        }
                    }
                }
            }
            var all: [(Int, Sealing)] = []
            for try await part in group { all.append(contentsOf: part) }
            return all.sorted { $0.0 < $1.0 }
        }
        for case (let line, .rejected(let error)) in sealed { reject(line, error) }
        let ready = sealed.compactMap { line, sealing -> (Int, LicenceLibrary.SealedLicence)? in
            if case .sealed(let licence) = sealing { return (line, licence) }
            return nil
        }

        try await collectWrite()
        inFlight = Task {
            // Every check that can refuse a line ran above; what is left can only fail in
            // storage, and then the whole transaction rolls back and the request fails: no
            // line is ever half-applied, and sending the batch again is safe (upsert).
            try await library.pool.write { db -> (accepted: Int, rejected: [Rejection]) in
                for (_, licence) in ready { _ = try library.store(db, licence, by: actor) }
                return (ready.count, [])
            }
        }
    }

    /// Waits for the batch being written and counts its outcome.
    private func collectWrite() async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        let outcome = try await task.value
        result.accepted += outcome.accepted
        result.rejected.append(contentsOf: outcome.rejected)
    }

    private enum Sealing: Sendable {
        case sealed(LicenceLibrary.SealedLicence)
        case rejected(MSBError)
    }
}
