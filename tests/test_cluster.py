"""`--cluster ray`: a local Ray with 2 CPU workers computes chapter 3's quick parts (10 parts: CNNs on MNIST6 and
CIFAR-10, the toy and demo measures, a skipped pretrained part), and every stored number equals the in-process run at
the same thread count (one thread per part, as each Ray task gets). Chapter 3 rather than chapter 1 for CI time:
its quick parts take 42 s on one thread against chapter 1's 80 s."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import registry
from helpers.partfile import differences
from helpers.store import Store

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "3"


def _run(*args):
    env = os.environ | {"HELPERS_PROGRESS": "0", "HELPERS_RAY_CPUS": "2"}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "helpers", "run", "--chapter", CHAPTER, "--profile", "quick", "--no-pages",
                        "--ignore-committed", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return time.perf_counter() - t0, r.stdout


@pytest.mark.notebooks
def test_ray_computes_the_same_parts_as_this_process(tmp_path, need_data):
    need_data("mnist")
    need_data("cifar10")
    if os.environ.get("CI", "").lower() != "true":
        pytest.importorskip("ray")
    ch = registry.chapter_module(CHAPTER)
    settings = ch.SETTINGS["quick"]
    parts = ch.PARTS(settings)
    t_ray, out = _run("--cluster", "ray", "--store", str(tmp_path / "ray"))
    assert f"{len(parts)} Ray tasks submitted (2 CPUs, 0 GPUs in the cluster)" in out
    assert out.count(": done in") == len(parts) - 1 and "pretrained: skipped: " in out  # a skip stores nothing
    t_here, _ = _run("--threads", "1", "--store", str(tmp_path / "here"))
    print(f"chapter {CHAPTER} quick parts: Ray with 2 workers {t_ray:.1f} s, in process one after another {t_here:.1f} s")
    for part in parts:
        digest = part.digest(ch.STEM, settings)
        a = Store(tmp_path / "ray").load(ch.STEM, "quick", part.name, digest)
        b = Store(tmp_path / "here").load(ch.STEM, "quick", part.name, digest)
        if part.name == "pretrained":  # skipped without image_dir, in both runs: nothing stored
            assert a is None and b is None
            continue
        assert a.meta["threads"] == b.meta["threads"] == 1
        numbers = [d for d in differences(a.result, b.result, part.name)
                   if "['seconds']" not in d and "wall_time_s" not in d]        # timings differ, numbers may not
        assert numbers == []
