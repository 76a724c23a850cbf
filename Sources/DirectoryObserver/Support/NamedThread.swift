import Foundation
import Glibc

/// Starts a thread that runs `body`, named `name` for the kernel too (`/proc/PID/task/TID/comm`,
/// `top -H`, `tools/bench`'s CPU per thread): Foundation's `Thread.name` alone does not reach the kernel
/// on Linux, and Glibc's `pthread_setname_np` is not visible to Swift, so the thread writes its own
/// `/proc/thread-self/comm`. Names longer than 15 bytes are cut by the kernel.
func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        if descriptor >= 0 {
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        body()
    }
    thread.name = name
    thread.start()
}
