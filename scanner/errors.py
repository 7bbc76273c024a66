"""The exception types for bad input, and their one-line rendering.

Messages speak the library's language: a parameter is named as the Python call spells it
(``grid``, ``force``, ``mu_max``), never as a command-line option. A fix that means passing
another parameter is written ``name=VALUE`` (``pass force=True``, ``give first_edge=...``,
``out='results/paper'``); the command line words such references, and the ``name`` of a
:class:`ParameterError`, as its own options (``add --force``, ``--first-edge``).
"""


class InputError(ValueError):
    """Bad input: a file, line, key or argument that the user can fix.

    The message is a single line that names the offending item and says what would fix it.
    The command line prints it to stderr and exits with code 2 (no traceback). A subclass of
    :class:`ValueError`, so that ``except ValueError`` in a user's code catches it too.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ParameterError(InputError):
    """A bad value of a named parameter of a library call (``jobs must be >= 1``).

    ``name`` is the parameter's name in the Python API; the command line words it as its
    option (``--jobs 0 must be >= 1``) with :meth:`as_option`.
    """

    def __init__(self, name: str, value, requirement: str):
        self.name = name
        self.value = value
        self.requirement = requirement
        super().__init__(f"{name} = {value!r} {requirement}")

    def as_option(self, option: str) -> str:
        """The message with the parameter worded as the option ``option`` of a command line."""
        value = self.value if isinstance(self.value, int | float) else repr(self.value)
        return " ".join(f"{option} {value} {self.requirement}".split())


class PathError(ParameterError):
    """A path, given as the parameter ``name``, that cannot be used as asked.

    ``out='results/paper': holds an earlier cevns-scan result; pass force=True ...``; the
    command line words it ``--out results/paper: ...`` (:meth:`as_option`), or, for a
    positional argument (``option=""``), ``results/paper: ...``.
    """

    def __init__(self, name: str, path, problem: str):
        self.name = name
        self.value = str(path)
        self.requirement = problem
        InputError.__init__(self, f"{name}={self.value!r}: {problem}")

    def as_option(self, option: str) -> str:
        """The message with the path worded as the value of the option ``option``."""
        where = f"{option} {self.value}" if option else self.value
        return " ".join(f"{where}: {self.requirement}".split())


class ScanInterrupted(Exception):
    """A scan stopped on SIGINT/SIGTERM after its current chunk; the message says how to resume."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class CevnsScanWarning(UserWarning):
    """A caveat about a result or an input that does not stop the computation: a limit the
    grid does not resolve, a bad fit, germanium inputs used with another target.

    Library calls issue it through :func:`warnings.warn`, so a notebook shows it and
    ``warnings.simplefilter("error", CevnsScanWarning)`` turns it into an exception; the
    command line prints each as one line on stderr (``warning: ...``).
    """


def warn(messages, stacklevel: int = 2) -> None:
    """Issue each message (a string or a list of them) as a :class:`CevnsScanWarning`.

    ``stacklevel`` counts from the caller of ``warn`` (2: the caller's caller, the user's code).
    """
    import warnings

    for message in [messages] if isinstance(messages, str) else messages:
        warnings.warn(message, CevnsScanWarning, stacklevel=stacklevel + 1)
