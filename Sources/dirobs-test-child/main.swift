// dirobs-test-child: the child processes the test suite spawns and kills, not a tool for people.
// `append-forever` is the crash test's writer, `hold-lock` the lock tests' other holder. Plain argument
// parsing on purpose: its only callers are tests.
import Glibc

let usage = """
    usage: dirobs-test-child append-forever OUTBOX
           dirobs-test-child hold-lock OUTBOX
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch (arguments.first, arguments.count) {
case ("append-forever", 2):
    AppendForever.run(outbox: arguments[1])
case ("hold-lock", 2):
    HoldLock.run(outbox: arguments[1])
default:
    ChildOutput.fail(usage, status: 64)
}
