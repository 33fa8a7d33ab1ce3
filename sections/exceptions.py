"""Errors our domain functions raise, each with a message a person can read."""


class ReviewappError(Exception):
    """Base class: the message is shown to the user as it is."""


class ImportRejected(ReviewappError):
    """A file can't be imported; nothing was written."""
