"""Errors our domain functions raise, each with a message a person can read."""


class ReviewappError(Exception):
    """Base class: the message is shown to the user as it is."""


class ImportRejected(ReviewappError):
    """A file can't be imported; nothing was written."""


class EditRejected(ReviewappError):
    """An edit can't be saved as it is (a citation key too long to store); nothing
    was saved."""


class EditConflict(ReviewappError):
    """Someone saved the section since the editor's base revision, and the two
    changes overlap; nothing was saved. Carries what the conflict page shows."""

    def __init__(self, *, base, current, title: str, body: str) -> None:
        super().__init__(
            "Someone saved this section while you were editing, and your changes "
            "overlap theirs. Your text is below: reconcile it with theirs and save again."
        )
        self.base, self.current, self.title, self.body = base, current, title, body


class ProposalRefused(ReviewappError):
    """A proposed change can't be made, reviewed or decided as asked (nothing to
    propose, already decided, approvals missing, no reason given); nothing changed."""
