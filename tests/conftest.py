"""Shared fixtures. Tests use the real staged data: with HELPERS_DATA unset (and nothing in the
download cache) they skip with a message naming HELPERS_DATA, except under CI=true, where missing
data is a failure. Tests never use the network: in this process any name lookup or connection beyond the machine
itself fails at once (``_no_network``), and ``HELPERS_OFFLINE=1`` stops downloads in the kernels and processes the
tests start."""
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


class _OnlyUses:
    """Settings that let a part read only the fields its ``uses`` declares (a part that reads another field would
    keep a stored result valid after that field changed): ``_OnlyUses(settings, part.uses)`` raises
    ``AttributeError`` naming the field on any other read."""

    def __init__(self, settings, uses):
        self._settings, self._uses = settings, frozenset(uses)

    def __getattr__(self, name):
        if name.startswith("__") or name not in self._uses:
            raise AttributeError(f"the part reads settings.{name}, which its uses= does not declare")
        return getattr(self._settings, name)


@pytest.fixture
def only_uses():
    """``only_uses(settings, part.uses)``: the settings a part may read (``_OnlyUses``)."""
    return _OnlyUses


@pytest.fixture
def need_data():
    """Call ``need_data("mnist")`` inside a test to skip (or fail under CI) when the data are absent."""
    return _need_data


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


os.environ["HELPERS_OFFLINE"] = "1"  # inherited by the notebook kernels and subprocesses the tests start
_LOCAL = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Refuse name lookups and connections to anything but this machine (a test that would download fails fast)."""
    import socket

    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo

    def local(host) -> bool:
        return host is None or (isinstance(host, str) and (host in _LOCAL or host.startswith("127.")))

    def connect(sock, address):
        if sock.family != getattr(socket, "AF_UNIX", None) and not local(address[0]):
            raise OSError(f"tests do not use the network (connect to {address})")
        return real_connect(sock, address)

    def lookup(host, *args, **kwargs):
        if not local(host):
            raise socket.gaierror(f"tests do not use the network (lookup of {host!r})")
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)



def _write_record(folder: Path, chapter: str, profile: str, claims=None, numbers=None,
                 name: str = "results.json") -> Path:
    """A run record as a page writes it (``Evidence.record``'s schema; ``claims`` a ``ClaimTable``), for tests of
    the readers of records."""
    import json

    from helpers.records import _jsonable

    folder.mkdir(parents=True, exist_ok=True)
    d = {"chapter": chapter, "profile": profile, "device": "cpu", "wall_time_s": 1.0, "versions": {}, "seed": 0,
         "date": "2026-01-01T00:00:00+00:00", "numbers": numbers or {},
         "claims": claims.to_records() if claims is not None else []}
    (folder / name).write_text(json.dumps(_jsonable(d), indent=2) + "\n")
    return folder / name


@pytest.fixture
def write_record():
    """``write_record(folder, chapter, profile, claims=None, numbers=None, name="results.json") -> Path``."""
    return _write_record
