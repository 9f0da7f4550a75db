"""The sovereign clouds: one table of endpoints, so nothing else hard-codes a host name.

Which cloud a start uses: ``--cloud``, else the cloud chosen in the app last time (kept in the
data directory), else the Azure CLI's current cloud (``az cloud show``), else Azure (global).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

from gui.paths import data_dir
from gui.transfer.errors import InvalidTargetError
from gui.transfer.tls import require_tls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cloud:
    name: str
    title: str
    resource_manager: str
    authority_host: str
    portal: str = ""  # the portal's address ("" where we know none: a custom cloud without one)

    @property
    def arm_scope(self) -> str:
        return self.resource_manager.rstrip("/") + "/.default"


CLOUDS: dict[str, Cloud] = {
    cloud.name: cloud
    for cloud in (
        Cloud(
            "AzureCloud",
            "Azure (global)",
            "https://management.azure.com",
            "login.microsoftonline.com",
            "https://portal.azure.com",
        ),
        Cloud(
            "AzureUSGovernment",
            "Azure US Government",
            "https://management.usgovcloudapi.net",
            "login.microsoftonline.us",
            "https://portal.azure.us",
        ),
        Cloud(
            "AzureChinaCloud",
            "Azure operated by 21Vianet",
            "https://management.chinacloudapi.cn",
            "login.chinacloudapi.cn",
            "https://portal.azure.cn",
        ),
    )
}

PUBLIC_CLOUD = CLOUDS["AzureCloud"]


# ---- which cloud: the one chosen in the app, else the Azure CLI's current one ----------------

CLOUD_FILE = "cloud.json"
AZ_TIMEOUT_SECONDS = 15.0


def remembered_cloud_name() -> str | None:
    """The cloud last chosen in the app (sign-in dialog), kept in the data directory."""
    try:
        data = json.loads((data_dir() / CLOUD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("cloud") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name in CLOUDS else None


def remember_cloud(cloud: Cloud) -> None:
    """Keeps ``cloud`` as the app's choice for the next start (only the built-in clouds)."""
    if cloud.name not in CLOUDS:
        return
    path = data_dir() / CLOUD_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"cloud": cloud.name}), encoding="utf-8")
    os.replace(temporary, path)


def _https(url: object) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    try:
        require_tls(url, "The cloud endpoint")
    except InvalidTargetError as exc:
        log.warning("Ignoring the Azure CLI's cloud: %s", exc)
        return None
    return url.rstrip("/")


def cloud_from_cli_json(text: str) -> Cloud | None:
    """The cloud `az cloud show` describes: a built-in one by name, or a custom one by its
    endpoints (Azure Stack Hub, a private cloud), which must be https://."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    name = data["name"]
    if name in CLOUDS:
        return CLOUDS[name]
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, dict):
        return None
    resource_manager = _https(endpoints.get("resourceManager"))
    authority = _https(endpoints.get("activeDirectory"))
    if resource_manager is None or authority is None:
        return None
    host = urlsplit(authority).hostname or ""
    return Cloud(name, name, resource_manager, host, _https(endpoints.get("portal")) or "")


def azure_cli_cloud() -> Cloud | None:
    """The Azure CLI's current cloud (`az cloud show`), or None without a usable CLI."""
    az = shutil.which("az")
    if az is None:
        return None
    try:
        done = subprocess.run(
            [az, "cloud", "show", "--output", "json"],
            capture_output=True,
            text=True,
            timeout=AZ_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("`az cloud show` did not run: %s", exc)
        return None
    if done.returncode != 0:
        log.info("`az cloud show` failed: %s", (done.stderr.strip().splitlines() or [""])[0])
        return None
    return cloud_from_cli_json(done.stdout)


def resolve_cloud(explicit: str | None = None) -> Cloud:
    """The cloud to use: ``explicit`` (``--cloud``), else the one chosen in the app last time,
    else the Azure CLI's current cloud, else Azure (global).

    Raises ``UnknownCloudError`` for an ``explicit`` name that is not a known cloud.
    """
    if explicit:
        cloud = CLOUDS.get(explicit)
        if cloud is None:
            raise UnknownCloudError(explicit)
        return cloud
    remembered = remembered_cloud_name()
    if remembered is not None:
        return CLOUDS[remembered]
    return azure_cli_cloud() or PUBLIC_CLOUD


class UnknownCloudError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Unknown cloud '{name}'. Use one of: {', '.join(CLOUDS)} "
            "(or `az cloud set` for a custom cloud and leave --cloud out)."
        )
