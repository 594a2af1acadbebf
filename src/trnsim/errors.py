"""The one exception type users see: a one-line message saying what is wrong and how to fix it."""


class TrnsimError(Exception):
    """A user-facing error. ``str(err)`` is a single line: what is wrong, and how to fix it."""

    def __init__(self, message: str, fix: str | None = None):
        self.message = message
        self.fix = fix
        text = message if not fix else f"{message} ({fix})"
        super().__init__(" ".join(text.split()))


class UnknownNameError(TrnsimError):
    """A name that is not in a catalog; the message suggests the closest known names.

    Deliberately not a ``KeyError``: code that catches ``KeyError`` around a dict lookup must not
    swallow an unknown catalog name.
    """
