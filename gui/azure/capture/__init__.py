"""Capturing a VM into an image (no Qt): VM facts, targets, the plan, the executor."""
