"""What can go wrong during an upload: one exception type per cause, all deriving from UploadError.

Messages are written for the person running the upload: what happened and what to do. They never
contain a SAS signature, an account key or a token (targets describe themselves redacted).
An error made from a :class:`~gui.i18n.Message` is shown translated in the window
(``localized``); ``str(error)`` is always the English sentence.
"""

from __future__ import annotations

from gui.i18n import Message, Render, Text


class UploadError(Exception):
    """Base of every upload failure; ``str(error)`` is a complete, user-facing sentence."""

    #: True when running the same upload again continues where this one stopped.
    resumable: bool = False

    def __init__(self, message: Message | str) -> None:
        self.message = Text(message)
        super().__init__(self.message)

    def localized(self, render: Render) -> str:
        text = str(self)
        if not text.startswith(self.message):
            return text  # the text was replaced after the error was made: it is English only
        # What was appended since (request ids for a support case) is not language.
        return self.message.localized(render) + text[len(self.message):]


class InvalidTargetError(UploadError):
    """The target (URL, connection string, names) is malformed."""


class ProxyConfigError(InvalidTargetError):
    """The proxy or CA-bundle settings in the environment cannot be used as they are."""


class UntrustedCertificateError(UploadError):
    """The endpoint's (or a TLS-inspecting proxy's) certificate is not trusted here."""

    resumable = True


class InvalidSourceError(UploadError):
    """The source image cannot be uploaded as it is."""


class SourceReadError(UploadError):
    """Reading the source file failed part-way."""

    resumable = True


class SourceChangedError(UploadError):
    """The source is not the file the unfinished upload (journal or blob) was started from."""


class TargetExistsError(UploadError):
    """A blob already exists at the target and was not made from this source."""


class TargetNotFoundError(UploadError):
    """The container, the blob or the disk does not exist (any more)."""


class TargetSizeMismatchError(UploadError):
    """The existing blob or disk has a size other than the image's upload size."""


class AccessDeniedError(UploadError):
    """The service refused the credentials or they lack a permission."""


class SasExpiredError(AccessDeniedError):
    """The SAS expired and the target cannot renew it."""

    resumable = True


class ServiceError(UploadError):
    """The service answered with an error that retrying does not fix."""


class RetryBudgetExhaustedError(UploadError):
    """Transient failures (5xx, timeouts, resets) went on longer than the retry budget allows."""

    resumable = True


class VerificationError(UploadError):
    """The finished blob does not match what was sent (size, pages, footer or Content-MD5)."""


class UploadCancelledError(UploadError):
    """The upload was cancelled; what was sent stays and a new start resumes it."""

    resumable = True


class JournalError(UploadError):
    """The resume journal cannot be read or written."""
