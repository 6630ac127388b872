"""Shared fixtures. Tests use the real staged data: with HELPERS_DATA unset (and nothing in the
download cache) they skip with a message naming HELPERS_DATA, except under CI=true, where missing
data is a failure."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers import data

ROOT = Path(__file__).resolve().parent.parent


def _need_data(name: str) -> None:
    if os.environ.get("HELPERS_DATA") or data._where(name, data.cache_dir()):
        data.find(name)  # raises a clear error if HELPERS_DATA points to the wrong place
        return
    msg = f"dataset {name!r}: set HELPERS_DATA to a folder with the real files (e.g. ../shared/data)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " (missing data is a failure under CI=true)")
    pytest.skip(msg)


@pytest.fixture
def need_data():
    """Call ``need_data("mnist")`` inside a test to skip (or fail under CI) when the data are absent."""
    return _need_data


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
