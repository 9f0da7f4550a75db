"""The embedded sandbox: a local Azure (ARM subset) on loopback for sandbox mode and the tests."""

from gui.sandbox.faults import FaultRule, Faults
from gui.sandbox.server import SandboxError, SandboxServer

__all__ = ["FaultRule", "Faults", "SandboxError", "SandboxServer"]
