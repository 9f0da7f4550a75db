"""Keep secrets out of logs and messages: SAS signatures, keys and tokens are masked."""

from __future__ import annotations

import re

_SECRET_QUERY = re.compile(r"(?i)\b(sig|skoid|sktid|skt|ske|sks|skv|skdutid)=([^&#\s]*)")
_ACCOUNT_KEY = re.compile(r"(?i)(AccountKey=)([^;\s]*)")
_SHARED_SIG = re.compile(r"(?i)(SharedAccessSignature=)([^;\s]*)")
_BEARER = re.compile(r"(?i)(Bearer\s+)([A-Za-z0-9._~+/=-]+)")


def redact(text: str) -> str:
    """``text`` with every SAS signature, account key and bearer token replaced by REDACTED."""
    text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=REDACTED", text)
    text = _ACCOUNT_KEY.sub(r"\1REDACTED", text)
    text = _SHARED_SIG.sub(r"\1REDACTED", text)
    return _BEARER.sub(r"\1REDACTED", text)


def strip_query(url: str) -> str:
    """The URL without its query string (the whole SAS), for identifying a blob."""
    return url.split("?", 1)[0].split("#", 1)[0]
