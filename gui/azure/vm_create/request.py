"""What the user asks for: a VM (or a test boot) from an image, checked before anything is sent.

The admin password is a :class:`Secret`: it lives only in memory, goes only into the request
body Azure receives, and never into a log line, a repr, an error, a file or an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from gui.azure import naming
from gui.azure.vm_create.image import ImageNeeds, SecurityType
from gui.azure.vm_create.sizes import VmSize
from gui.i18n import QT_TR_NOOP, Message, Text


class Mode(StrEnum):
    CREATE = "create"
    TEST_BOOT = "test-boot"


class Secret:
    """A value that must not be shown: its repr and str are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class VmRequest:
    needs: ImageNeeds
    mode: Mode
    name: str
    resource_group: str
    new_resource_group: bool
    location: str
    size: str
    admin_user: str = "azureuser"
    ssh_public_key: str = ""
    password: Secret | None = field(default=None, repr=False)
    security_type: SecurityType = SecurityType.STANDARD
    public_ip: bool = False  # a new network without a public IP unless asked
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def network_name(self) -> str:
        return f"{self.name}-vnet"

    @property
    def nic_name(self) -> str:
        return f"{self.name}-nic"

    @property
    def public_ip_name(self) -> str:
        return f"{self.name}-ip"


# Azure's rules (Naming rules and restrictions; VM admin user names and passwords, as the portal
# checks them before it sends).
_VM_NAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$")
_WINDOWS_COMPUTER = re.compile(r"^(?!\d+$)[A-Za-z0-9-]{1,15}$")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_RESERVED_USERS = frozenset(
    {"administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1",
     "1", "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david",
     "guest", "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys",
     "test2", "test3", "user4", "user5"}
)  # fmt: skip
_SSH_KEY = re.compile(
    r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{40,}( .*)?$"
)
_PASSWORD_CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")


def vm_name_problem(name: str, linux: bool) -> Text | None:
    if not name:
        return Text(QT_TR_NOOP("Enter a VM name."))
    if not _VM_NAME.match(name):
        return Text(QT_TR_NOOP(
            "A VM name has 1–64 letters, digits, hyphens, periods or underscores, starts with a "
            "letter, digit or underscore and does not end with a hyphen or period."))
    if not linux and not _WINDOWS_COMPUTER.match(name):
        return Text(QT_TR_NOOP(
            "A Windows VM name has at most 15 letters, digits or hyphens (it becomes the computer "
            "name) and is not only digits."))
    return None


def user_problem(user: str) -> Text | None:
    if not user:
        return Text(QT_TR_NOOP("Enter an administrator user name."))
    if not _USER.match(user):
        return Text(QT_TR_NOOP(
            "An administrator name has 1–64 letters, digits, underscores, periods or hyphens and "
            "starts with a letter or underscore."))
    if user.casefold() in _RESERVED_USERS:
        return Text(Message(QT_TR_NOOP("Azure does not allow the administrator name {user}; "
                                       "choose another."), {"user": user}))
    return None


def password_problem(password: str, linux: bool) -> Text | None:
    low, high = (6, 72) if linux else (12, 123)
    classes = sum(1 for pattern in _PASSWORD_CLASSES if re.search(pattern, password))
    if not low <= len(password) <= high or classes < 3:
        return Text(Message(QT_TR_NOOP(
            "The password needs {low}–{high} characters and three of: a lowercase letter, an "
            "uppercase letter, a digit, a special character."), {"low": low, "high": high}))
    return None


def ssh_key_problem(key: str) -> Text | None:
    if not _SSH_KEY.match(key.strip()):
        return Text(QT_TR_NOOP(
            "Paste an OpenSSH public key (one line starting with ssh-rsa, ssh-ed25519 or "
            "ecdsa-sha2-…), for example the contents of ~/.ssh/id_ed25519.pub."))
    return None


def validate(request: VmRequest, sizes: list[VmSize] | None = None) -> list[Text]:
    """Everything wrong with the request, each as a sentence saying what to do; [] when none."""
    needs = request.needs
    problems: list[Text | None] = [vm_name_problem(request.name, needs.linux)]
    rg = naming.resource_group_name(request.resource_group)
    problems.append(Text(rg) if rg else None)
    if not request.location:
        problems.append(Text(QT_TR_NOOP("Choose a region.")))
    if not request.size:
        problems.append(Text(QT_TR_NOOP("Choose a VM size that runs the image.")))
    elif sizes is not None and not any(s.name == request.size for s in sizes):
        problems.append(Text(Message(QT_TR_NOOP(
            "The size {size} does not run this image ({generation}, {architecture}, "
            "{security}); choose one from the list."),
            {"size": request.size, "generation": needs.generation,
             "architecture": needs.architecture, "security": request.security_type.value})))
    if request.security_type not in needs.security_types:
        problems.append(Text(Message(QT_TR_NOOP("The image does not allow security type "
                                                "{security}."),
                                     {"security": request.security_type.value})))
    if not needs.specialized:
        # A specialized image keeps its accounts: Azure refuses an OS profile for it.
        problems.append(user_problem(request.admin_user))
        if needs.linux and not request.ssh_public_key and not request.password:
            problems.append(Text(QT_TR_NOOP("Give an SSH public key or a password.")))
        if not needs.linux and not request.password:
            problems.append(Text(QT_TR_NOOP("Give a password for the Windows administrator.")))
        if request.ssh_public_key:
            problems.append(ssh_key_problem(request.ssh_public_key))
        if request.password:
            problems.append(password_problem(request.password.reveal(), needs.linux))
    return [p for p in problems if p is not None]


def throwaway_group(needs: ImageNeeds, when: datetime | None = None) -> str:
    """A throw-away resource group's name a human recognises: what it is, for which image, when."""
    moment = (when or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    image = re.sub(r"[^A-Za-z0-9]+", "-", needs.title).lower()[:40].strip("-") or "image"
    return f"rg-testboot-{image}-{moment}"


# The test-boot VM's name: short enough for a Windows computer name.
TEST_BOOT_VM = "vm-testboot"
