"""`--cluster ray`: a local Ray with 2 CPU workers computes chapter 1's quick parts, and every stored number equals
the in-process run at the same thread count (one thread per part, as each Ray task gets)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import runner
from helpers.store import Store, differences

ROOT = Path(__file__).resolve().parent.parent


def _run(*args):
    env = os.environ | {"HELPERS_PROGRESS": "0", "HELPERS_RAY_CPUS": "2"}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "helpers", "run", "--chapter", "1", "--profile", "quick", "--no-pages",
                        "--ignore-committed", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return time.perf_counter() - t0, r.stdout


@pytest.mark.notebooks
def test_ray_computes_the_same_parts_as_this_process(tmp_path, need_data):
    need_data("mnist")
    need_data("fashion_mnist")
    if os.environ.get("CI", "").lower() != "true":
        pytest.importorskip("ray")
    t_ray, out = _run("--cluster", "ray", "--store", str(tmp_path / "ray"))
    assert "7 Ray tasks submitted (2 CPUs, 0 GPUs in the cluster)" in out and out.count(": done in") == 7
    t_here, _ = _run("--threads", "1", "--store", str(tmp_path / "here"))
    print(f"chapter 1 quick parts: Ray with 2 workers {t_ray:.1f} s, in process one after another {t_here:.1f} s")
    ch1 = runner.chapter_module("1")
    settings = ch1.SETTINGS["quick"]
    for part in ch1.PARTS(settings):
        digest = part.digest(ch1.STEM, settings, 0)
        a = Store(tmp_path / "ray").load(ch1.STEM, "quick", part.name, 0, digest)
        b = Store(tmp_path / "here").load(ch1.STEM, "quick", part.name, 0, digest)
        assert a.meta["threads"] == b.meta["threads"] == 1
        assert differences(a.result, b.result, part.name) == []
