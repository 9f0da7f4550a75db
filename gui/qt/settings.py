"""The user's remembered settings, declared once with their types.

Stored by QSettings in an INI file inside the data directory (so tests and the sandbox get their
own, and a user can find and delete it).
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar, cast, overload

from PySide6.QtCore import QByteArray, QSettings

from gui.paths import settings_file

T = TypeVar("T")


class Setting(Generic[T]):
    """A typed descriptor over one QSettings key; values are stored as JSON or raw bytes."""

    def __init__(self, key: str, default: T) -> None:
        self.key = key
        self.default = default

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Setting[T]: ...
    @overload
    def __get__(self, instance: Settings, owner: type[Any]) -> T: ...
    def __get__(self, instance: Settings | None, owner: type[Any]) -> Setting[T] | T:
        if instance is None:
            return self
        raw = instance.store.value(self.key)
        if raw is None:
            return self.default
        if isinstance(self.default, QByteArray):
            return cast(T, raw) if isinstance(raw, QByteArray) else self.default
        try:
            value = json.loads(str(raw))
        except ValueError:
            return self.default
        if not isinstance(value, type(self.default)):
            return self.default
        typed: T = value
        return typed

    def __set__(self, instance: Settings, value: T) -> None:
        if isinstance(value, QByteArray):
            instance.store.setValue(self.key, value)
        else:
            instance.store.setValue(self.key, json.dumps(value))


class Settings:
    window_geometry = Setting("window/geometry", QByteArray())
    window_state = Setting("window/state", QByteArray())
    browser_splitter = Setting("window/browser_splitter", QByteArray())
    detail_splitter = Setting("window/detail_splitter", QByteArray())
    subscription_id = Setting("scope/subscription", "")
    location = Setting("scope/location", "westeurope")
    known_subscriptions = Setting("scope/known_subscriptions", cast(list[list[str]], []))
    known_locations = Setting("scope/known_locations", cast(list[list[str]], []))
    last_selection = Setting("browser/last_selection", "")
    community_galleries = Setting("browser/community_galleries", cast(list[str], []))
    log_visible = Setting("window/log_visible", False)
    # "" follows the system's language; otherwise a code of gui.qt.i18n.LANGUAGES.
    language = Setting("ui/language", "")
    # Defaults the wizards start from (the scope boxes keep subscription_id and location).
    default_resource_group = Setting("defaults/resource_group", "")
    default_disk_sku = Setting("defaults/disk_sku", "Standard_LRS")
    # Uploads: Put Page requests in flight per upload, and one cap for all of them in megabits
    # per second (AzCopy's --cap-mbps unit, which administrators know); 0 = no cap.
    upload_concurrency = Setting("uploads/concurrency", 8)
    bandwidth_cap_mbps = Setting("uploads/bandwidth_cap_mbps", 0)
    delete_partial_disk = Setting("uploads/delete_partial_disk", True)
    # Listings younger than this are shown from the cache without asking Azure again (ARM's read
    # budget); 0 = always ask again in the background.
    cache_max_age_minutes = Setting("cache/max_age_minutes", 0)
    sign_in_method = Setting("account/sign_in_method", "Browser")

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings(str(settings_file()), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self.store.sync()
