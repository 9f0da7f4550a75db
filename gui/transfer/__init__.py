"""The page-blob upload engine (no Qt): sends only data, resumes, survives faults.

Typical use::

    from gui.diskimage import open_image
    from gui.transfer import Upload, UploadOptions, SasUrlTarget

    with open_image(path) as image:
        upload = Upload(image, SasUrlTarget(url), UploadOptions(), on_progress=print)
        upload.start()            # returns at once; the engine runs on its own thread
        ...                       # upload.pause() / resume() / cancel() from any thread
        result = upload.result()  # raises an UploadError subclass on failure
"""

# The names below are loaded on first use (PEP 562), not when the package is imported: the
# window imports gui.transfer.redact and gui.transfer.tls at start-up, and importing the engine
# with them would pull in aiohttp (about 0.4 s of a cold start) before the first paint.
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "AccessDeniedError": "gui.transfer.errors",
    "BlobTarget": "gui.transfer.targets",
    "ConnectionStringTarget": "gui.transfer.targets",
    "DEFAULT_CONCURRENCY": "gui.transfer.engine",
    "InvalidSourceError": "gui.transfer.errors",
    "InvalidTargetError": "gui.transfer.errors",
    "JournalError": "gui.transfer.errors",
    "ProgressCallback": "gui.transfer.engine",
    "ProgressSnapshot": "gui.transfer.progress",
    "ProxyConfigError": "gui.transfer.errors",
    "RenewableSasTarget": "gui.transfer.targets",
    "RetryBudgetExhaustedError": "gui.transfer.errors",
    "RetryPolicy": "gui.transfer.retry",
    "SasExpiredError": "gui.transfer.errors",
    "SasUrlTarget": "gui.transfer.targets",
    "ServiceError": "gui.transfer.errors",
    "SourceChangedError": "gui.transfer.errors",
    "SourceIdentity": "gui.transfer.source",
    "SourceReadError": "gui.transfer.errors",
    "TargetExistsError": "gui.transfer.errors",
    "TargetNotFoundError": "gui.transfer.errors",
    "TargetSizeMismatchError": "gui.transfer.errors",
    "TokenCredentialTarget": "gui.transfer.targets",
    "UnfinishedUpload": "gui.transfer.journal",
    "UntrustedCertificateError": "gui.transfer.errors",
    "Upload": "gui.transfer.engine",
    "UploadCancelledError": "gui.transfer.errors",
    "UploadError": "gui.transfer.errors",
    "UploadOptions": "gui.transfer.engine",
    "UploadResult": "gui.transfer.engine",
    "UploadSource": "gui.transfer.source",
    "UploadState": "gui.transfer.progress",
    "VerificationError": "gui.transfer.errors",
    "list_unfinished": "gui.transfer.journal",
    "target_for": "gui.transfer.resume",
    "target_from_url": "gui.transfer.targets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gui.transfer' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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
    "target_for",
    "target_from_url",
]
