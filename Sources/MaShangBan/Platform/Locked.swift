import NIOConcurrencyHelpers

/// A value behind a lock: the one lock type of this package.
///
/// Not `Synchronization.Mutex`: on Linux a contended `Mutex` waits and wakes through futex
/// calls inside the standard library, which is not built with the thread sanitizer, so
/// `make tsan` cannot see that lock and reports races on the data it guards (seen in CI on
/// the delivery worker's in-flight set). NIO's lock is a pthread mutex, which the sanitizer
/// understands.
public struct Locked<Value> {
    @usableFromInline let box: NIOLockedValueBox<Value>

    @inlinable public init(_ value: Value) { box = NIOLockedValueBox(value) }

    @inlinable public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try box.withLockedValue(body)
    }
}

extension Locked: Sendable where Value: Sendable {}
