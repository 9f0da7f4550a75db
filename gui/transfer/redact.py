"""The one redaction function: secrets never reach a log, an error message or a traceback.

``redact`` is used by the log file and the log dock (through ``RedactingFormatter``, which also
covers exception tracebacks), by the uncaught-exception hooks and by every error message the app
builds (gui/azure/errors.py, gui/transfer). It lives here, at the lowest layer that needs it, so
that every other layer can import it. There is deliberately no second, weaker copy anywhere.

It masks:
- SAS query parameters (``sig=`` and the user-delegation key fields), in plain, URL-encoded
  (``sig%3D``) and double-encoded (``sig%253D``) form;
- connection-string secrets (``AccountKey=``, ``SharedAccessSignature=``, ``SharedAccessKey=``)
  and bare 88-character base64 storage account keys;
- ``Authorization``, ``Proxy-Authorization`` and ``x-ms-copy-source-authorization`` header values
  (Bearer, SharedKey, Basic ...), ``Bearer`` / ``SharedKey`` tokens anywhere, and bare JWTs;
- OAuth fields (``access_token``, ``refresh_token``, ``client_secret`` ...) and the password of
  a ``scheme://user:password@host`` URL (a proxy URL with credentials).
"""

from __future__ import annotations

import logging
import re

MASK = "REDACTED"

# '=' as it appears in a URL: plain, encoded once, encoded twice (a SAS URL inside a query string
# of another URL, as in a copy source, or logged after a second quote()).
_EQ = r"(?:=|%3D|%253D)"
# A value ends at a separator, in any of those encodings.
_VALUE = r"(?:(?!%26|%2526|%3B|%253B)[^&;#\s\"'<>\\,)}\]])*"

_SAS_FIELDS = r"sig|skoid|sktid|skt|ske|sks|skv|skdutid|saoid|suoid"
_OAUTH_FIELDS = (
    r"access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password"
)
# A field name starts after a non-word character or after an encoded '&' or '?'.
_FIELD_START = r"(?:(?<![A-Za-z0-9_])|(?<=%26)|(?<=%3F)|(?<=%2526)|(?<=%253F))"
_QUERY_SECRET = re.compile(
    rf"(?i){_FIELD_START}({_SAS_FIELDS}|{_OAUTH_FIELDS}|token|key)({_EQ}[\"']?)({_VALUE})"
)
# JSON / repr form: "access_token": "...", 'password': '...'
_JSON_SECRET = re.compile(
    rf"(?i)([\"'](?:{_OAUTH_FIELDS}|accountKey|sasToken|accessSAS|securityDataAccessSAS)[\"']"
    r"\s*:\s*[\"'])([^\"']*)"
)
_CONNECTION_SECRET = re.compile(
    r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey)(=|%3D|%253D)([^;\s\"']*)"
)
_HEADER_SECRET = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-ms-copy-source-authorization)"
    r"([\"']?\s*[:=]\s*[\"']?)([^\r\n\"']+)"
)
# 8 characters at least, so prose such as "Bearer token" stays readable; real tokens are longer.
_SCHEME_TOKEN = re.compile(r"(?i)\b(Bearer|SharedKey|SharedKeyLite)(\s+)([A-Za-z0-9._~+/=:-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# Storage account keys: 64 random bytes in base64, always 88 characters ending in '=='.
_ACCOUNT_KEY = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"']+:)([^/\s@\"']+)(@)")


def redact(text: str) -> str:
    """``text`` with every SAS signature, account key, token and password replaced by REDACTED."""
    if not text:
        return text
    text = _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _SCHEME_TOKEN.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _CONNECTION_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _JSON_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _JWT.sub(MASK, text)
    return _ACCOUNT_KEY.sub(MASK, text)


def strip_query(url: str) -> str:
    """The URL without its query string (the whole SAS), for identifying a blob."""
    return url.split("?", 1)[0].split("#", 1)[0]


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every output, tracebacks included, went through ``redact``.

    ``formatException`` is redacted too because ``logging`` caches its result on the record
    (``exc_text``), where another handler would otherwise pick up the raw traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))
