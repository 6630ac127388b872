"""Parts: the named units of a chapter's compute.

A part is a function ``compute(settings, device) -> result`` of a chapter's profile settings. Its result holds what
the chapter's figures, tables, controls and claims need: numbers, strings and arrays, never models or device tensors
(``helpers.partfile.encode`` refuses them). A part trains what it measures: a computation that needs a trained model
lives in the part that trains it, so parts never wait for one another and can run in any order, in one process or
as Ray tasks on several machines.

Each chapter package lists its parts with ``parts(settings) -> list[Part]`` (one per group, dataset or width
of the profile), and each part declares what it needs (``Needs``: a GPU or not, CPU threads, a rough memory
figure), which Ray uses to place it. ``run_part`` computes one part with the same random state wherever it
runs (torch, numpy and Python are seeded with ``PART_SEED`` first) and returns the result with its metadata.
"""
from __future__ import annotations

import os
import platform
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .checkpoint import Checkpoints, scope
from . import data as _data
from .partfile import PART_SEED, Digest, canonical, part_hash
from .provenance import determinism, device_name, git_commit, now, versions

__all__ = ["Needs", "Part", "run_part", "check_parts"]


@dataclass(frozen=True)
class Needs:
    """What a part asks of the machine that computes it.

    Attributes:
        gpu: it gains from a GPU (a Ray task then asks for one where the cluster has GPUs; it runs on a CPU too).
        cpus: CPU threads it uses (Ray's ``num_cpus``; torch's thread count inside a Ray task).
        memory_gb: a rough figure for its peak host memory (Ray's ``memory``).
    """

    gpu: bool = False
    cpus: int = 1
    memory_gb: float = 2.0

    def __post_init__(self):
        if self.cpus < 1 or self.memory_gb <= 0:
            raise ValueError(f"Needs: cpus >= 1 and memory_gb > 0, got {self.cpus}, {self.memory_gb}")


@dataclass(frozen=True)
class Part:
    """One named unit of a chapter's compute.

    Attributes:
        name: unique within the chapter, e.g. ``"group-rot4"`` (lower case, digits, ``. _ + -``).
        compute: ``compute(settings, device) -> result`` (see the module docstring).
        needs: what it asks of the machine.
        uses: the settings fields that shape its result; only they enter its settings hash, so changing another
            field leaves it valid. None: every field.
        version: bump it when the computation changes meaning, so that stored results stop matching.
        description: one line for progress output and the page's evidence table.
        optional: a part that may skip for a resource a machine lacks (``{"skipped": why}``, never stored): the
            ``best`` profile counts as complete without it, and a page computes it (a skip takes no time) or
            shows it as *not run*.
        own: settings of the part's own beside the profile's (a frozen dataclass, e.g. a study's sizes, which its
            ``compute`` is given with ``functools.partial``): they enter its settings hash as ``"own"``. None: none.
    """

    name: str
    compute: Callable[[Any, torch.device], Any]
    needs: Needs = Needs()
    uses: tuple[str, ...] | None = None
    version: int = 1
    description: str = ""
    optional: bool = False
    own: Any = None

    def settings_of(self, settings: Any) -> dict:
        """The settings that shape this part, as plain JSON values (its ``own`` under ``"own"``)."""
        full = canonical(settings)
        missing = [k for k in self.uses or () if k not in full]
        if missing:
            raise ValueError(f"part {self.name!r} uses settings {missing} that the chapter's settings lack")
        out = full if self.uses is None else {k: full[k] for k in self.uses}
        return out if self.own is None else out | {"own": canonical(self.own)}

    def digest(self, chapter: str, settings: Any, data: dict | None = None) -> str:
        """The settings hash a stored result must carry to stand for this part in this profile: a ``Digest``, whose
        ``with_data(data)`` adds the datasets the part read (``helpers.store``); with ``data`` given, that hash."""
        d = Digest(chapter, self.name, self.version, self.settings_of(settings))
        return d.with_data(data) if data is not None else d


def check_parts(parts: Sequence[Part]) -> list[Part]:
    """``parts`` as a list, after checking that their names are unique."""
    names = [p.name for p in parts]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"part names must be unique; repeated: {dup}")
    return list(parts)


def run_part(chapter: str, profile: str, part: Part, settings: Any, device: torch.device | str,
             threads: int | None = None, checkpoints: str | os.PathLike | None = None,
             pieces: str | os.PathLike | None = None) -> tuple[Any, dict]:
    """Compute one part and describe the run.

    Torch, numpy and Python's ``random`` are seeded with ``PART_SEED`` first, so a part gives the same numbers
    whatever ran before it (in one process or as a Ray task); ``threads`` sets torch's thread count for it and
    caps the BLAS / OpenMP pools of numpy, scipy and scikit-learn alike (``threadpoolctl``), so that a part
    computed with the same ``threads`` gives the same numbers here and in a Ray task.

    ``checkpoints``: the part's checkpoint folder (``helpers.checkpoint``), where its long loops save their state
    and from which they resume; None: no checkpoints. A resumed part's ``wall_time_s`` adds the earlier runs' time
    up to their last save, and ``meta["resumed"]`` says so. ``pieces``: the part's pieces folder (the committed
    results of its finished runs, ``Checkpoints.keep``); reused pieces are named in ``meta["resumed"]["pieces"]``.

    The datasets the part reads (``helpers.data.reading``, with those of the pieces it reuses) are its ``data``,
    and enter its settings hash.

    Returns:
        ``(result, meta)``: the part's result and ``meta`` (settings hash, settings and data, device, versions, git
        commit, date, wall time, thread count and determinism flags) for ``Store.save``. A result holding
        ``"skipped"`` (``helpers.store.is_skip``) is a skip: the runner reports it and stores nothing.
    """
    from threadpoolctl import threadpool_limits

    device = torch.device(device)
    if threads is not None:
        torch.set_num_threads(int(threads))
    # Subnormal floats (|x| < 1.2e-38) read as zero on the CPU: weights that weight decay drives towards zero turn
    # subnormal, which x86 CPUs handle in slow microcode. Measured on chapter 3's MNIST6 CNN (steps profile,
    # epoch 16, one thread): 8,988 ms a step with them, 344 ms flushed, 371 ms for a fresh network. Their values lie
    # below float32's normal range, far under any tolerance a result is read to. A GPU run is not affected.
    flush = bool(torch.set_flush_denormal(True))
    torch.manual_seed(PART_SEED)
    np.random.seed(PART_SEED)
    random.seed(PART_SEED)
    digest = part.digest(chapter, settings)
    commit = git_commit()  # the code this process loaded (read once; see provenance.git_commit)
    ckpt = Checkpoints(checkpoints, str(digest), pieces=pieces, device=device_name(device))
    t0 = time.perf_counter()
    with threadpool_limits(limits=int(threads) if threads is not None else None), scope(ckpt), \
            _data.reading() as read:
        result = part.compute(settings, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - t0
    read = dict(sorted(read.items()))
    meta = {"settings_hash": part_hash(chapter, part.name, part.version, part.settings_of(settings), read),
            "settings": part.settings_of(settings), "data": read, "version": part.version,
            "description": part.description, "device": device_name(device),
            "host": platform.node(), "versions": versions(), "git_commit": commit, "date": now(),
            "wall_time_s": round(wall + (ckpt.earlier_s if ckpt.resumed or ckpt.reused else 0.0), 3),
            **determinism(), "flush_denormal": flush}
    if ckpt.resumed or ckpt.reused:
        meta["resumed"] = {"checkpoints": ckpt.resumed, "earlier_runs_s": round(ckpt.earlier_s, 3),
                           "this_run_s": round(wall, 3)}
        if ckpt.reused:
            meta["resumed"]["pieces"] = dict(ckpt.reused)
    return result, meta

