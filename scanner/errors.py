"""The one exception type for bad input, and its one-line rendering."""


class InputError(Exception):
    """Bad input: a file, line, key or argument that the user can fix.

    The message is a single line that names the offending item and says what would fix it.
    The command line prints it to stderr and exits with code 2 (no traceback).
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ScanInterrupted(Exception):
    """A scan stopped on SIGINT/SIGTERM after its current chunk; the message says how to resume."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum
