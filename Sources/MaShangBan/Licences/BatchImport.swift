import Foundation
import GRDB

/// Imports NDJSON (one licence per line) as it streams in: lines are decoded one by one,
/// and every `batchSize` of them are stored in one transaction, each line inside its own
/// savepoint, so a bad line never stops the good ones and no line is half-applied.
/// Memory stays flat whatever the body size.
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
    private var pending: [(line: Int, submission: LicenceSubmission)] = []
    private var partial: [UInt8] = []
    private var partialTooLong = false
    private var lineNumber = 0
    private var result = Result()
    private let decoder = JSONDecoder()

    public init(library: LicenceLibrary, actor: AuditActor, batchSize: Int = 500) {
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
        do {
            pending.append((lineNumber, try decoder.decode(LicenceSubmission.self, from: Data(partial))))
        } catch let error as DecodingError {
            reject(lineNumber, .badRequest(DecodingFailure.describe(error)))
        }
        if pending.count >= batchSize { try await flush() }
    }

    private func reject(_ line: Int, _ error: MSBError) {
        result.rejected.append(Rejection(line: line, code: error.code, detail: error.detail))
    }

    private func flush() async throws {
        guard !pending.isEmpty else { return }
        let lines = pending
        pending.removeAll(keepingCapacity: true)
        let library = self.library
        let actor = self.actor
        let rejections = try await library.pool.write { db -> [Rejection] in
            var rejections: [Rejection] = []
            for (line, submission) in lines {
                do {
                    try db.inSavepoint {
                        _ = try library.store(db, try library.validate(submission, db), by: actor)
                        return .commit
                    }
                } catch let error as MSBError {
                    rejections.append(Rejection(line: line, code: error.code, detail: error.detail))
                }
            }
            return rejections
        }
        result.accepted += lines.count - rejections.count
        result.rejected.append(contentsOf: rejections)
        result.rejected.sort { $0.line < $1.line }
    }
}
