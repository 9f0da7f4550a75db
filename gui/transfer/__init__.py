"""The page-blob upload engine (no Qt): sends only data, resumes, survives faults.

Typical use::

    from gui.vhd import open_image
    from gui.transfer import Upload, UploadOptions, SasUrlTarget

    with open_image(path) as image:
        upload = Upload(image, SasUrlTarget(url), UploadOptions(), on_progress=print)
        upload.start()            # returns at once; the engine runs on its own thread
        ...                       # upload.pause() / resume() / cancel() from any thread
        result = upload.result()  # raises an UploadError subclass on failure
"""

from gui.transfer.engine import (
    DEFAULT_CONCURRENCY,
    ProgressCallback,
    Upload,
    UploadOptions,
    UploadResult,
)
from gui.transfer.errors import (
    AccessDeniedError,
    InvalidSourceError,
    InvalidTargetError,
    JournalError,
    ProxyConfigError,
    RetryBudgetExhaustedError,
    SasExpiredError,
    ServiceError,
    SourceChangedError,
    SourceReadError,
    TargetExistsError,
    TargetNotFoundError,
    TargetSizeMismatchError,
    UntrustedCertificateError,
    UploadCancelledError,
    UploadError,
    VerificationError,
)
from gui.transfer.journal import UnfinishedUpload, list_unfinished
from gui.transfer.progress import ProgressSnapshot, UploadState
from gui.transfer.redact import redact
from gui.transfer.resume import target_for
from gui.transfer.retry import RetryPolicy
from gui.transfer.source import SourceIdentity, UploadSource
from gui.transfer.targets import (
    BlobTarget,
    ConnectionStringTarget,
    RenewableSasTarget,
    SasUrlTarget,
    TokenCredentialTarget,
    target_from_url,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "AccessDeniedError",
    "BlobTarget",
    "ConnectionStringTarget",
    "InvalidSourceError",
    "InvalidTargetError",
    "JournalError",
    "ProgressCallback",
    "ProgressSnapshot",
    "ProxyConfigError",
    "RenewableSasTarget",
    "RetryBudgetExhaustedError",
    "RetryPolicy",
    "SasExpiredError",
    "SasUrlTarget",
    "ServiceError",
    "SourceChangedError",
    "SourceIdentity",
    "SourceReadError",
    "TargetExistsError",
    "TargetNotFoundError",
    "TargetSizeMismatchError",
    "TokenCredentialTarget",
    "UnfinishedUpload",
    "UntrustedCertificateError",
    "Upload",
    "UploadCancelledError",
    "UploadError",
    "UploadOptions",
    "UploadResult",
    "UploadSource",
    "UploadState",
    "VerificationError",
    "list_unfinished",
    "redact",
    "target_for",
    "target_from_url",
]
