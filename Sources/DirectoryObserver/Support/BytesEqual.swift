import Glibc

/// Whether two byte buffers hold the same bytes, compared with `memcmp` (the generic `elementsEqual`
/// goes element by element, which shows on the forwarder's path, where it runs for every event).
func bytesEqual(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
    guard left.count == right.count else { return false }
    guard let leftStart = left.baseAddress, let rightStart = right.baseAddress else { return true }
    return memcmp(leftStart, rightStart, left.count) == 0
}

/// `bytesEqual` of an array's bytes and a buffer.
func bytesEqual(_ left: [UInt8], _ right: UnsafeBufferPointer<UInt8>) -> Bool {
    left.withUnsafeBufferPointer { bytesEqual($0, right) }
}
