import HTTPTypes
import NIOHTTPTypes
import HummingbirdCore
import Logging
import MaShangBan
import NIOCore

/// Deadlines for slow clients (issue 8). The idle timeout alone does not stop a slowloris:
/// each trickled byte resets it. Here a request's head must be complete within
/// `headerTimeout` of its first byte, and its body within `bodyTimeout` of the head plus one
/// second per `minimumBodyRate` bytes received (an honest upload of a big batch is never cut
/// off; a trickle is). A connection that misses a deadline is closed. Each source address
/// may hold at most `maximumPerAddress` connections; more are closed on arrival.
struct SlowClientGuard: Sendable {
    var headerTimeout: TimeAmount = .seconds(10)
    var bodyTimeout: TimeAmount = .seconds(30)
    var minimumBodyRate = 64 * 1024
    var maximumPerAddress = 256
    let connections = ConnectionsPerAddress()

    /// The handler added after HTTP decoding; it puts its raw-byte watcher at the front of the pipeline.
    func makeHandler() -> RequestDeadlineHandler { RequestDeadlineHandler(guard: self) }
}

/// Open connections per source address.
final class ConnectionsPerAddress: Sendable {
    private let counts = Locked<[String: Int]>([:])

    /// Counts a new connection; false if the address is at `maximum` already (not counted then).
    func open(_ address: String, maximum: Int) -> Bool {
        counts.withLock { counts in
            guard counts[address, default: 0] < maximum else { return false }
            counts[address, default: 0] += 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            counts[address, default: 1] -= 1
            if counts[address] == 0 { counts[address] = nil }
        }
    }
}

/// Sees decoded request parts (after the HTTP codec) and response ends; its `RawBytesWatcher`
/// sees bytes before the decoder, so the head deadline starts at a request's first byte.
/// Both live on the channel's event loop.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum Phase { case idle, head, body, responding }

    private let settings: SlowClientGuard
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var bodyStart = NIODeadline.now()
    private var bodyBytes = 0
    private var countedAddress: String?

    init(guard settings: SlowClientGuard) { self.settings = settings }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(RawBytesWatcher(owner: self), position: .first)
    }

    func channelActive(context: ChannelHandlerContext) {
        if let address = context.channel.remoteAddress?.ipAddress {
            guard settings.connections.open(address, maximum: settings.maximumPerAddress) else {
                context.close(promise: nil)
                return
            }
            countedAddress = address
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        if let address = countedAddress { settings.connections.close(address) }
        countedAddress = nil
        context.fireChannelInactive()
    }

    /// Bytes arrived before decoding: a new request's head has begun if none was under way.
    func bytesArrived(context: ChannelHandlerContext) {
        guard phase == .idle else { return }
        phase = .head
        schedule(at: .now() + settings.headerTimeout, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .body
            bodyStart = .now()
            bodyBytes = 0
            schedule(at: bodyDeadline, context: context)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            timer?.cancel()
            phase = .responding
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), phase == .responding { phase = .idle }
        context.write(data, promise: promise)
    }

    private var bodyDeadline: NIODeadline {
        bodyStart + settings.bodyTimeout + .seconds(Int64(bodyBytes / max(1, settings.minimumBodyRate)))
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.deadlinePassed(context: context)
        }
    }

    private func deadlinePassed(context: ChannelHandlerContext) {
        switch phase {
        case .head:
            context.close(promise: nil)
        case .body:
            // Bytes that came since the timer was set may have moved the deadline.
            if bodyDeadline > .now() { schedule(at: bodyDeadline, context: context) } else { context.close(promise: nil) }
        case .idle, .responding:
            break
        }
    }
}

/// The byte-level half of `RequestDeadlineHandler`, first in the pipeline.
final class RawBytesWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private weak var owner: RequestDeadlineHandler?
    private var ownerContext: ChannelHandlerContext?

    init(owner: RequestDeadlineHandler) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let owner, let ownerContext = ownerContext ?? (try? context.pipeline.syncOperations.context(handler: owner)) {
            self.ownerContext = ownerContext
            owner.bytesArrived(context: ownerContext)
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { ownerContext = nil }
}
