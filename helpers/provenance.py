"""Provenance: where and when a number was computed, the facts a stored part and a page record carry.

The ground floor of the package (no import above ``registry``): the device's name, the versions of the packages
that shape the numbers, the checkout's git commit, the date, and torch's thread count and determinism flags.
``helpers.parts.run_part`` writes them into every part's ``meta``; ``helpers.evidence.Evidence.record`` and
``helpers.evidence.Evidence.record`` into a page's ``results.json``; the benchmarks into their JSON.
"""
from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import subprocess
from importlib import metadata
from typing import Any

import torch

from .registry import repo_root_or_none

__all__ = ["device_name", "versions", "git_commit", "now", "determinism"]

_PACKAGES = ("torch", "torchvision", "numpy", "captum", "scipy", "scikit-learn", "learned-symmetry")


def device_name(device: torch.device | str) -> str:
    """A human-readable device description, e.g. ``"NVIDIA H100 80GB HBM3"`` or ``"CPU (2 cores)"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores, {platform.machine()})"


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's commit (with ``+dirty`` for uncommitted changes), or ``""`` outside a git checkout: read once
    per process, at the first call (``parts.run_part`` calls it before a part computes), so a part or piece saved
    hours later names the code the process loaded, not a commit made while it ran."""
    root = repo_root_or_none()
    if root is None or not (root / ".git").exists():
        return ""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "helpers"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("+dirty" if sha and dirty else "")


def now() -> str:
    """UTC now, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def determinism() -> dict:
    """Torch's thread count and determinism flags, and the CUDA / cuDNN versions on a GPU."""
    out: dict[str, Any] = {"threads": torch.get_num_threads(),
           "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
           "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
           "cudnn_benchmark": bool(torch.backends.cudnn.benchmark)}
    if torch.cuda.is_available():
        out |= {"cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    return out
