"""A test boot's verdict: did the image boot and provision, and if not, the likely cause.

Read from what Azure reports (the create operation's error, the instance view's provisioning and
agent statuses) and what the guest wrote to its serial console. The causes are the common image
bugs: a disk that was not generalized (or a specialized one deployed as generalized), a disk
that boots with the other firmware than the image's Hyper-V generation says, and an image
without a guest agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gui.i18n import QT_TR_NOOP, Text


class Outcome(StrEnum):
    PASSED = "passed"
    NOT_GENERALIZED = "not-generalized"
    WRONG_GENERATION = "wrong-generation"
    NO_AGENT = "no-agent"
    REFUSED = "refused"  # Azure refused the VM before it booted
    FAILED = "failed"  # another failure, with Azure's message
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    cause: Text
    advice: Text
    detail: str = ""  # Azure's message, as Azure wrote it

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


_NO_BOOT = re.compile(
    r"no bootable device|boot failed|no operating system was loaded|"
    r"boot loader did not load an operating system",
    re.IGNORECASE,
)
_ALREADY_PROVISIONED = re.compile(
    r"provisioning already completed|instance-id unchanged|without running setup|"
    r"not generalized",
    re.IGNORECASE,
)
_AGENT = re.compile(r"walinuxagent|waagent|cloud-init|rdagent|guest agent", re.IGNORECASE)

PASSED = Verdict(
    Outcome.PASSED,
    Text(QT_TR_NOOP("The image boots: OS provisioning completed and the guest agent is ready.")),
    Text(QT_TR_NOOP("VMs can be created from this image.")),
)
_NOT_GENERALIZED = (
    Text(QT_TR_NOOP("OS provisioning timed out: the image's disk was not generalized (or a "
                    "specialized image was deployed as generalized). The guest booted as the "
                    "machine it was captured from and never reported for the new VM.")),
    Text(QT_TR_NOOP("Generalize the source (Windows: sysprep /generalize /oobe /shutdown; Linux: "
                    "waagent -deprovision+user) and capture it again, or mark the image "
                    "definition Specialized and create VMs without an OS profile.")),
)
_WRONG_GENERATION = (
    Text(QT_TR_NOOP("The disk does not boot with this Hyper-V generation: the firmware found no "
                    "bootable device (a BIOS/MBR disk under UEFI, or a UEFI-only disk under "
                    "BIOS).")),
    Text(QT_TR_NOOP("Create the image again with the generation the disk boots with: Gen1 for an "
                    "MBR disk with a BIOS boot loader, Gen2 for a GPT disk with an EFI system "
                    "partition.")),
)
_NO_AGENT = (
    Text(QT_TR_NOOP("The VM runs, but no guest agent ever reported: the image has no Azure guest "
                    "agent (WALinuxAgent or cloud-init on Linux, the Windows guest agent).")),
    Text(QT_TR_NOOP("Install and enable the Azure guest agent in the image, generalize it and "
                    "capture it again.")),
)


def judge(
    *,
    provisioning_code: str,
    provisioning_message: str,
    agent_ready: bool,
    serial_log: str,
    specialized: bool,
) -> Verdict:
    """``provisioning_code``: "succeeded", or the failure's code (OSProvisioningTimedOut...)."""
    log = serial_log or ""
    code = provisioning_code.casefold()
    if code == "succeeded":
        if agent_ready:
            return PASSED
        return Verdict(Outcome.NO_AGENT, *_NO_AGENT)
    if _NO_BOOT.search(log):
        return Verdict(Outcome.WRONG_GENERATION, *_WRONG_GENERATION, provisioning_message)
    if code == "osprovisioningtimedout":
        if specialized or _ALREADY_PROVISIONED.search(log):
            return Verdict(Outcome.NOT_GENERALIZED, *_NOT_GENERALIZED, provisioning_message)
        if log.strip() and not _AGENT.search(log):
            return Verdict(Outcome.NO_AGENT, *_NO_AGENT, provisioning_message)
        return Verdict(Outcome.NOT_GENERALIZED, *_NOT_GENERALIZED, provisioning_message)
    return Verdict(
        Outcome.FAILED,
        Text(QT_TR_NOOP("The VM did not provision; Azure's message says why.")),
        Text(QT_TR_NOOP("Correct what the message names and test-boot the image again.")),
        provisioning_message,
    )


def refused(message: str) -> Verdict:
    return Verdict(
        Outcome.REFUSED,
        Text(QT_TR_NOOP("Azure refused to create the VM; the image did not boot.")),
        Text(QT_TR_NOOP("Correct what the message names (size, plan, terms, security type) and "
                        "test-boot the image again.")),
        message,
    )


CANCELLED = Verdict(
    Outcome.CANCELLED,
    Text(QT_TR_NOOP("The test boot was cancelled before a verdict.")),
    Text(QT_TR_NOOP("Start it again to find out whether the image boots.")),
)
