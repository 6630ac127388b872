"""Parts as Ray tasks: ``helpers run --cluster ray`` (a local Ray) or ``--cluster ray://HOST:PORT`` (a cluster).

Each missing part becomes one Ray task with the resources it declared (``Part.needs``: CPUs, a GPU where the
cluster has one, memory). A worker rebuilds the part from its chapter package and profile settings, computes it
with ``helpers.parts.run_part`` (checkpoints and pieces in the store's folders, so a task killed and submitted
again resumes), and sends the result back; the caller saves it as each task finishes. Ray is imported only here,
so the package runs without it (``pip install 'learned-symmetry[cluster]'`` adds it).
"""
from __future__ import annotations

import importlib
import os
import time
import types
from typing import Any, Callable, Sequence

import torch

from . import checkpoint
from .evidence import fmt_seconds
from .parts import run_part
from .store import Store

__all__ = ["CLUSTER_HELP", "check_cluster", "compute_on_ray"]

CLUSTER_HELP = "'ray' (a local Ray) or 'ray://HOST:PORT' (an existing cluster)"


def check_cluster(cluster: str | None) -> None:
    """Raises ValueError naming ``cluster`` unless it is None, ``"ray"`` or ``"ray://HOST:PORT"``."""
    if cluster is not None and cluster != "ray" and not str(cluster).startswith("ray://"):
        raise ValueError(f"unknown cluster {cluster!r}; use {CLUSTER_HELP}")


def _task(module_name: str, profile: str, settings: Any, part_name: str, seed: int, use_gpu: bool,
          threads: int, checkpoints: str | None = None, pieces: str | None = None) -> tuple[Any, dict]:
    """What a Ray worker runs: rebuild the part from its chapter and compute it (numbers and arrays come back);
    ``checkpoints`` and ``pieces`` are the part's folders on the worker's file system (``helpers.checkpoint``)."""
    module = importlib.import_module(module_name)
    part = next(p for p in module.PARTS(settings) if p.name == part_name)
    device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
    return run_part(module.STEM, profile, part, settings, seed, device, threads, checkpoints=checkpoints,
                    pieces=pieces)


def compute_on_ray(module: types.ModuleType, profile: str, seed: int, todo: Sequence, store: Store, cluster: str,
                   save: Callable[[Any, Any, dict], None], say: Callable[[str], None]) -> None:
    """Compute the parts of ``todo`` (``runner.PartStatus`` items) as Ray tasks, calling ``save(status, result,
    meta)`` as each finishes and ``say`` with one progress line per event.

    Raises:
        RuntimeError: Ray is not installed.
    """
    try:
        import ray
    except ImportError as err:
        raise RuntimeError("--cluster needs Ray: pip install 'learned-symmetry[cluster]' (or pip install ray)") from err
    started = False
    if not ray.is_initialized():
        env = {"HELPERS_PROGRESS": "0"} | {k: os.environ[k] for k in ("HELPERS_DATA",) if k in os.environ}
        kwargs = {"include_dashboard": False, "runtime_env": {"env_vars": env}}
        if cluster == "ray" and os.environ.get("HELPERS_RAY_CPUS"):
            kwargs["num_cpus"] = int(os.environ["HELPERS_RAY_CPUS"])
        ray.init(address=None if cluster == "ray" else cluster, **kwargs)
        started = True
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        task = ray.remote(_task)
        settings = module.SETTINGS[profile]
        refs = {}
        for st in todo:
            n = st.part.needs
            gpu = bool(n.gpu and gpus)
            ref = task.options(num_cpus=n.cpus, num_gpus=1 if gpu else 0, memory=int(n.memory_gb * 2**30),
                               name=f"{module.STEM}:{st.part.name}").remote(
                module.__name__, profile, settings, st.part.name, seed, gpu, n.cpus,
                str(store.checkpoints(module.STEM, profile, st.part.name, seed)),
                str(store.pieces(module.STEM, profile, st.part.name, seed)))
            refs[ref] = st
        say(f"[helpers]   {len(refs)} Ray tasks submitted ({ray.cluster_resources().get('CPU', 0):g} CPUs, "
            f"{gpus:g} GPUs in the cluster)")
        t0, done_n = time.perf_counter(), 0
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            st = refs.pop(done[0])
            result, meta = ray.get(done[0])
            save(st, result, meta)
            checkpoint.discard(store.checkpoints(module.STEM, profile, st.part.name, seed))
            checkpoint.discard(store.pieces(module.STEM, profile, st.part.name, seed))
            done_n += 1
            say(f"[helpers]   [{done_n}/{len(todo)}] {st.part.name}: done in {fmt_seconds(meta['wall_time_s'])} "
                f"on {meta['device']} (all so far {fmt_seconds(time.perf_counter() - t0)})")
    finally:
        if started:
            ray.shutdown()
