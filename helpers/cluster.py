"""Parts as Ray tasks: ``helpers run --cluster ray`` (a local Ray) or ``--cluster ray://HOST:PORT`` (a cluster).

Each missing part becomes one Ray task with the resources it declared (``Part.needs``: CPUs, a GPU where the
cluster has one, memory). A worker rebuilds the part from its chapter package and profile settings, computes it
with ``helpers.parts.run_part`` (checkpoints and pieces in the store's folders, so a task killed and submitted
again resumes), and sends the result back; the caller saves it as each task finishes. Ray is imported only here,
so the package runs without it (``pip install 'learned-symmetry[cluster]'`` adds it, with the Ray client that
``ray://`` needs).

The caller holds each part's store lock (``Store.lock``) while its task runs, as a local run does, so a local run
and a Ray run never compute one part twice; a part another run holds is not submitted (``compute_on_ray`` returns
it). A ``ray://HOST:PORT`` that does not answer within ``CONNECT_TIMEOUT_S`` is an error naming it. A task that
fails after Ray's retries is named; the other tasks are still awaited and saved before the run stops.
"""
from __future__ import annotations

import importlib
import os
import socket
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
#: Seconds a ``ray://HOST:PORT`` has to accept a connection.
CONNECT_TIMEOUT_S = 10.0


def check_cluster(cluster: str | None) -> None:
    """Raises ValueError naming ``cluster`` unless it is None, ``"ray"`` or ``"ray://HOST:PORT"`` (a port number)."""
    if cluster is None or cluster == "ray":
        return
    text = str(cluster)
    host, _, port = text[len("ray://"):].rpartition(":")
    if not text.startswith("ray://") or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"unknown cluster {cluster!r}; use {CLUSTER_HELP}")


def check_reachable(cluster: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raises RuntimeError naming ``ray://HOST:PORT`` when nothing accepts a connection there within ``timeout_s``."""
    host, _, port = cluster[len("ray://"):].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as err:
        raise RuntimeError(f"the Ray cluster {cluster} does not answer ({type(err).__name__}: {err}, "
                           f"{timeout_s:g} s); check the address and that its Ray client server runs") from err


def _task(module_name: str, profile: str, settings: Any, part_name: str, use_gpu: bool, threads: int,
          checkpoints: str | None = None, pieces: str | None = None) -> tuple[Any, dict]:
    """What a Ray worker runs: rebuild the part from its chapter and compute it (numbers and arrays come back);
    ``checkpoints`` and ``pieces`` are the part's folders on the worker's file system (``helpers.checkpoint``)."""
    module = importlib.import_module(module_name)
    part = next(p for p in module.PARTS(settings) if p.name == part_name)
    device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
    return run_part(module.STEM, profile, part, settings, device, threads, checkpoints=checkpoints, pieces=pieces)


def compute_on_ray(module: types.ModuleType, profile: str, todo: Sequence, store: Store, cluster: str,
                   save: Callable[[Any, Any, dict], bool], say: Callable[[str], None]) -> list:
    """Compute the parts of ``todo`` (``lookup.PartStatus`` items) as Ray tasks, each under its store lock, calling
    ``save(status, result, meta)`` as each finishes and ``say`` with one progress line per event.

    Returns:
        The items of ``todo`` another run holds (not submitted; the caller waits for them).
    Raises:
        RuntimeError: Ray (or its client, for ``ray://``) is not installed; a ``ray://`` address that does not
            answer; tasks that failed (named), after every other task was saved.
    """
    try:
        import ray
    except ImportError as err:
        raise RuntimeError("--cluster needs Ray: pip install 'learned-symmetry[cluster]' (or pip install "
                           "'ray[client]')") from err
    if cluster != "ray":
        try:
            import grpc  # noqa: F401  (the Ray client's transport; plain ``pip install ray`` lacks it)
        except ImportError as err:
            raise RuntimeError(f"--cluster {cluster} needs the Ray client: pip install 'learned-symmetry[cluster]' "
                               "(or pip install 'ray[client]')") from err
        check_reachable(cluster)
    locks, held_elsewhere = {}, []
    for st in todo:
        lock = store.lock(module.STEM, profile, st.part.name)
        if isinstance(lock, str):
            say(f"[helpers]   {st.part.name}: being computed by another run ({lock}); not submitted")
            held_elsewhere.append(st)
        else:
            locks[st.part.name] = lock
    try:
        _run_tasks(ray, module, profile, [st for st in todo if st.part.name in locks], store, cluster, save, say)
    finally:
        for lock in locks.values():
            lock.release()
    return held_elsewhere


def _run_tasks(ray, module, profile, todo, store, cluster, save, say) -> None:
    if not todo:
        return
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
                module.__name__, profile, settings, st.part.name, gpu, n.cpus,
                str(store.checkpoints(module.STEM, profile, st.part.name)),
                str(store.pieces(module.STEM, profile, st.part.name)))
            refs[ref] = st
        say(f"[helpers]   {len(refs)} Ray tasks submitted ({ray.cluster_resources().get('CPU', 0):g} CPUs, "
            f"{gpus:g} GPUs in the cluster)")
        t0, done_n, failed = time.perf_counter(), 0, []
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            st = refs.pop(done[0])
            done_n += 1
            try:
                result, meta = ray.get(done[0])
            except Exception as err:  # a task error, a worker lost after Ray's retries, ...
                failed.append(f"{st.part.name} ({type(err).__name__}: {str(err).strip().splitlines()[-1][:300]})")
                say(f"[helpers]   [{done_n}/{len(todo)}] {st.part.name}: FAILED on the cluster "
                    f"({type(err).__name__}); waiting for the other tasks")
                continue
            if not save(st, result, meta):
                say(f"[helpers]   [{done_n}/{len(todo)}] {st.part.name}: {st.note}")
                continue
            checkpoint.discard(store.checkpoints(module.STEM, profile, st.part.name),
                               store.pieces(module.STEM, profile, st.part.name))
            say(f"[helpers]   [{done_n}/{len(todo)}] {st.part.name}: done in {fmt_seconds(meta['wall_time_s'])} "
                f"on {meta['device']} (all so far {fmt_seconds(time.perf_counter() - t0)})")
        if failed:
            raise RuntimeError(f"{len(failed)} part(s) of {module.STEM} failed on {cluster}: {'; '.join(failed)}; "
                               "every other part is stored, a new run computes only these")
    finally:
        if started:
            ray.shutdown()
