"""The VM and network PUTs are read against their schemas from the REST spec, over real HTTP.

Each body below has the shape the app sends (gui/azure/vm_create/executor.py) with one value of
the wrong JSON type: the sandbox refuses it as Azure does, with ``InvalidRequestContent`` naming
the JSON path, before any handler sees it. The app's own bodies passing is covered by
tests/azure/test_vm_create*.py and tests/qt/test_create_vm.py, which run against the same checks.
"""

from __future__ import annotations

import copy
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from gui.azure.handoff import NETWORK_API
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

RG = f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/rg-contract-vm"
NETWORK = f"{RG}/providers/Microsoft.Network"
VM = f"{RG}/providers/Microsoft.Compute/virtualMachines/vm-contract"
COMPUTE_API = "2026-04-01"  # what azure-mgmt-compute 39 sends for virtual machines

TAGS = {"createdBy": "Azure Image Studio"}
VNET_BODY: dict[str, Any] = {
    "location": "westeurope",
    "tags": TAGS,
    "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}}],
    },
}
PIP_BODY: dict[str, Any] = {
    "location": "westeurope",
    "tags": TAGS,
    "sku": {"name": "Standard"},
    "properties": {"publicIPAllocationMethod": "Static"},
}
NIC_BODY: dict[str, Any] = {
    "location": "westeurope",
    "tags": TAGS,
    "properties": {
        "ipConfigurations": [
            {
                "name": "ipconfig1",
                "properties": {
                    "subnet": {"id": f"{NETWORK}/virtualNetworks/vnet/subnets/default"},
                    "privateIPAllocationMethod": "Dynamic",
                    "publicIPAddress": {"id": f"{NETWORK}/publicIPAddresses/pip"},
                },
            }
        ]
    },
}
VM_BODY: dict[str, Any] = {
    "location": "westeurope",
    "tags": TAGS,
    "plan": {"publisher": "redhat", "product": "rhel-byos", "name": "rhel-lvm94"},
    "properties": {
        "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
        "storageProfile": {
            "imageReference": {
                "publisher": "redhat",
                "offer": "rhel-byos",
                "sku": "rhel-lvm94",
                "version": "latest",
            },
            "osDisk": {
                "createOption": "FromImage",
                "deleteOption": "Delete",
                "caching": "ReadWrite",
                "managedDisk": {"securityProfile": {"securityEncryptionType": "VMGuestStateOnly"}},
            },
        },
        "networkProfile": {
            "networkInterfaces": [
                {
                    "id": f"{NETWORK}/networkInterfaces/nic",
                    "properties": {"primary": True, "deleteOption": "Delete"},
                }
            ]
        },
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        "osProfile": {
            "computerName": "vm-contract",
            "adminUsername": "azureuser",
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {
                    "publicKeys": [
                        {
                            "path": "/home/azureuser/.ssh/authorized_keys",
                            "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIContract test",
                        }
                    ]
                },
            },
        },
        "securityProfile": {
            "securityType": "ConfidentialVM",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        },
    },
}


def _put(server: SandboxServer, path: str, api: str, body: Any) -> tuple[int, Any]:
    parts = urlsplit(server.arm_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
        conn.request("PUT", f"{path}?api-version={api}", body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


def _refusal(server: SandboxServer, path: str, api: str, body: Any) -> str:
    status, doc = _put(server, path, api, body)
    assert status == 400, doc
    assert doc["error"]["code"] == "InvalidRequestContent", doc
    message: str = doc["error"]["message"]
    assert message.startswith("The request content was invalid and could not be deserialized: ")
    return message


CASES = [
    pytest.param(
        VM,
        COMPUTE_API,
        VM_BODY,
        ("properties", "osProfile", "linuxConfiguration", "ssh", "publicKeys", 0, "keyData"),
        42,
        "Error converting value 42 to type 'System.String'. "
        "Path 'properties.osProfile.linuxConfiguration.ssh.publicKeys[0].keyData'.",
        id="VirtualMachines_CreateOrUpdate",
    ),
    pytest.param(
        f"{NETWORK}/virtualNetworks/vnet",
        NETWORK_API,
        VNET_BODY,
        ("properties", "subnets", 0, "properties", "addressPrefix"),
        24,
        "Error converting value 24 to type 'System.String'. "
        "Path 'properties.subnets[0].properties.addressPrefix'.",
        id="VirtualNetworks_CreateOrUpdate",
    ),
    pytest.param(
        f"{NETWORK}/networkInterfaces/nic",
        NETWORK_API,
        NIC_BODY,
        ("properties", "ipConfigurations", 0, "properties", "primary"),
        "yes",
        "Error converting value \"yes\" to type 'System.Boolean'. "
        "Path 'properties.ipConfigurations[0].properties.primary'.",
        id="NetworkInterfaces_CreateOrUpdate",
    ),
    pytest.param(
        f"{NETWORK}/publicIPAddresses/pip",
        NETWORK_API,
        PIP_BODY,
        ("properties", "idleTimeoutInMinutes"),
        "four",
        "Error converting value \"four\" to type 'System.Int32'. "
        "Path 'properties.idleTimeoutInMinutes'.",
        id="PublicIPAddresses_CreateOrUpdate",
    ),
]


@pytest.mark.parametrize(("path", "api", "body", "where", "value", "expected"), CASES)
def test_a_wrong_type_in_the_app_s_body_is_invalid_request_content_naming_the_path(
    sandbox: SandboxServer,
    path: str,
    api: str,
    body: dict[str, Any],
    where: tuple[str | int, ...],
    value: object,
    expected: str,
) -> None:
    message = _refusal(sandbox, path, api, _set(body, where, value))
    assert message.endswith(f"'{expected}'"), message


def test_a_fixed_enum_of_the_vm_body_is_read_as_azure_reads_it(sandbox: SandboxServer) -> None:
    # CachingTypes is a fixed enum in ComputeRP.json: a value outside it cannot be read.
    body = _set(VM_BODY, ("properties", "storageProfile", "osDisk", "caching"), "Fastest")
    message = _refusal(sandbox, VM, COMPUTE_API, body)
    assert "'CachingTypes'" in message
    assert "Path 'properties.storageProfile.osDisk.caching'" in message


def test_a_vm_os_disk_without_its_create_option_is_named(sandbox: SandboxServer) -> None:
    body = copy.deepcopy(VM_BODY)
    del body["properties"]["storageProfile"]["osDisk"]["createOption"]
    status, doc = _put(sandbox, VM, COMPUTE_API, body)
    assert status == 400, doc
    assert doc["error"]["code"] == "InvalidParameter", doc
    assert doc["error"]["target"] == "properties.storageProfile.osDisk.createOption"
