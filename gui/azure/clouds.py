"""The sovereign clouds: one table of endpoints, so nothing else hard-codes a host name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    title: str
    resource_manager: str
    authority_host: str

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
        ),
        Cloud(
            "AzureUSGovernment",
            "Azure US Government",
            "https://management.usgovcloudapi.net",
            "login.microsoftonline.us",
        ),
        Cloud(
            "AzureChinaCloud",
            "Azure operated by 21Vianet",
            "https://management.chinacloudapi.cn",
            "login.chinacloudapi.cn",
        ),
    )
}

PUBLIC_CLOUD = CLOUDS["AzureCloud"]
