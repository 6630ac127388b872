"""Atomic, locked saves and locks that end (issue 41, items 3 and 6): two processes saving one part never expose a
partial or mixed file, a lock whose pid now belongs to another process or that SIGTERM interrupted does not
block, a foreign lock is waited on for a bounded time, Ray tasks take the part lock, and a failed Ray task is
named while the others are stored."""
import json
import os
import platform
import re
import signal
import subprocess
import sys
import textwrap
import time
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from helpers import cluster, locks, partfile, runner
from helpers.parts import Part
from helpers.store import Store

ROOT = Path(__file__).resolve().parent.parent

_SAVER = textwrap.dedent("""
    import sys, numpy as np
    from helpers.store import Store
    st, k = Store(sys.argv[1]), int(sys.argv[2])
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(200):
        st.save("01_x", "quick", "p", {"k": k, "i": i, "x": np.full(300, float(k))},
                {"settings": {"n": 1}, "version": 1})
""")


def test_two_processes_saving_one_part_200_times_never_expose_a_partial_file(tmp_path):
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", _SAVER, str(tmp_path), str(k)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for k in (1, 2)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:  # both start at once
        p.stdin.write("go\n")
        p.stdin.flush()
    st = Store(tmp_path)
    path = st.path("01_x", "quick", "p")
    digest = partfile.part_hash("01_x", "p", 1, {"n": 1})
    reads = 0
    while any(p.poll() is None for p in procs):
        if path.exists():
            got = st.load("01_x", "quick", "p", digest)  # raises on a partial or mixed pair
            assert np.all(got.result["x"] == got.result["k"])
            reads += 1
        time.sleep(0.002)
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0, err[-2000:]
    assert reads > 0 and st.verify() == (1, [])
    assert not [f for f in path.parent.iterdir() if f.name.endswith(".tmp")], "no temporary file is left"


def _hold(path: Path, **holder):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "host": platform.node(), "since": time.time()} | holder))


def test_a_lock_whose_pid_belongs_to_another_process_now_is_taken_over(tmp_path):
    st = Store(tmp_path)
    lock = st.path("01_x", "quick", "p").with_suffix(".lock")
    _hold(lock, started=locks._proc_start(os.getpid()))  # this very process: alive, held
    assert isinstance(st.lock("01_x", "quick", "p"), str)
    _hold(lock, started="another-boot:12345")  # the same pid, but another process started it
    took = st.lock("01_x", "quick", "p")
    assert isinstance(took, locks.PartLock) and json.loads(lock.read_text())["started"] == locks._proc_start(
        os.getpid())
    took.release()
    assert not lock.exists()


@dataclass(frozen=True)
class Toy:
    a: int = 1


CALLS: list[str] = []


def _toy(fail: str = "") -> types.ModuleType:
    def compute(name):
        def run(s, device):
            CALLS.append(name)
            if name == fail:
                raise RuntimeError(f"worker lost while computing {name}")
            return {"v": s.a, "name": name}
        return run
    m = types.ModuleType("toy_chapter_41c")
    m.STEM = "09_toy"
    m.SETTINGS = {"quick": Toy()}
    m.PARTS = lambda s: [Part(n, compute(n)) for n in ("alpha", "beta", "gamma")]
    return m


def test_a_foreign_lock_is_waited_on_for_a_bounded_time_and_named(tmp_path, monkeypatch):
    CALLS.clear()
    m = _toy()
    lock = Store(tmp_path).path(m.STEM, "quick", "beta").with_suffix(".lock")
    _hold(lock, host="another-host", pid=4242)
    monkeypatch.setenv("HELPERS_LOCK_WAIT_S", "0.3")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"part 'beta' of 09_toy is held by pid 4242 on another-host .*"
                                           r"beta\.s0\.lock.* for more than 0\.3 s"):
        runner.compute(m, "quick", store=tmp_path, progress=None)
    assert time.monotonic() - t0 < 5 and CALLS == ["alpha", "gamma"]  # the others were computed and stored
    assert Store(tmp_path).path(m.STEM, "quick", "gamma").exists()


_HOLDER = textwrap.dedent("""
    import sys, time
    from helpers.locks import release_on_sigterm
    from helpers.store import Store
    release_on_sigterm()
    lock = Store(sys.argv[1]).lock("01_x", "quick", "p")
    print("locked", flush=True)
    try:
        time.sleep(60)
    finally:
        lock.release()
""")


def test_sigterm_releases_the_lock(tmp_path):
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "locked"
    lock = Store(tmp_path).path("01_x", "quick", "p").with_suffix(".lock")
    assert lock.exists()
    p.send_signal(signal.SIGTERM)  # what `timeout` sends
    assert p.wait(10) == 128 + signal.SIGTERM and not lock.exists()


def test_locks_and_temporary_files_are_git_ignored():
    out = subprocess.run(["git", "check-ignore", "results/quick/01_x/parts/p.s0.lock",
                          "results/quick/01_x/parts/.p.s0.json.123.abcd.tmp"], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.stdout.split() == ["results/quick/01_x/parts/p.s0.lock",
                                  "results/quick/01_x/parts/.p.s0.json.123.abcd.tmp"]


class _Ref:
    def __init__(self, kind, value):
        self.kind, self.value = kind, value


class _FakeRay(types.ModuleType):
    """Just enough of Ray to run tasks in this process: each task runs when submitted; its error comes at ``get``."""

    def __init__(self, locks_seen):
        super().__init__("ray")
        self.locks_seen = locks_seen

    def is_initialized(self):
        return True

    def cluster_resources(self):
        return {"CPU": 2, "GPU": 0}

    def remote(self, fn):
        fake = self

        class Task:
            def options(self, **kw):
                return self

            def remote(self, module_name, profile, settings, part, *rest):
                fake.locks_seen[part] = sorted(p.name for p in Path(rest[2]).parent.glob("*.lock"))
                try:
                    return _Ref("ok", fn(module_name, profile, settings, part, *rest))
                except Exception as err:
                    return _Ref("err", err)
        return Task()

    def wait(self, refs, num_returns=1):
        return refs[:1], refs[1:]

    def get(self, ref):
        if ref.kind == "err":
            raise ref.value
        return ref.value


@pytest.fixture
def fake_ray(monkeypatch):
    seen = {}
    monkeypatch.setitem(sys.modules, "ray", _FakeRay(seen))
    m = _toy(fail="beta")
    monkeypatch.setitem(sys.modules, m.__name__, m)
    CALLS.clear()
    return m, seen


def test_ray_tasks_take_the_part_lock_and_failures_name_the_part(fake_ray, tmp_path):
    m, seen = fake_ray
    with pytest.raises(RuntimeError, match=r"1 part\(s\) of 09_toy failed on ray: beta \(RuntimeError: worker lost "
                                           r"while computing beta\)"):
        runner.compute(m, "quick", store=tmp_path, cluster="ray", progress=None)
    assert seen["alpha"] == ["alpha.s0.lock", "beta.s0.lock", "gamma.s0.lock"]  # held while the tasks run
    st = Store(tmp_path)
    assert st.path(m.STEM, "quick", "alpha").exists() and st.path(m.STEM, "quick", "gamma").exists()
    assert not st.path(m.STEM, "quick", "beta").exists() and not list(tmp_path.rglob("*.lock"))


def test_a_part_a_local_run_holds_is_not_submitted_to_ray(fake_ray, tmp_path, monkeypatch):
    m, _ = fake_ray
    m.PARTS = _toy().PARTS
    lock = Store(tmp_path).path(m.STEM, "quick", "gamma").with_suffix(".lock")
    _hold(lock, host="another-host", pid=1)
    monkeypatch.setenv("HELPERS_LOCK_WAIT_S", "0.2")
    with pytest.raises(RuntimeError, match="part 'gamma' of 09_toy is held by pid 1 on another-host"):
        runner.compute(m, "quick", store=tmp_path, cluster="ray", progress=None)
    assert CALLS == ["alpha", "beta"]


def test_a_bad_cluster_address_fails_fast_naming_it():
    with pytest.raises(ValueError, match="unknown cluster 'ray://nohost'"):
        cluster.check_cluster("ray://nohost")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"the Ray cluster ray://127\.0\.0\.1:9 does not answer"):
        cluster.check_reachable("ray://127.0.0.1:9", timeout_s=2)
    assert time.monotonic() - t0 < 10


def test_arguments_are_checked_before_any_compute():
    env = os.environ | {"HELPERS_PROGRESS": "0"}
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "helpers", "run", "--chapter", "0", "--profile", "quick", "--threads",
                        "0", "--no-pages", "--store", "/nonexistent/x"], capture_output=True, text=True, cwd=ROOT,
                       env=env, timeout=60)
    assert r.returncode == 2 and "threads must be a whole number >= 1, got 0" in r.stderr and "computing" not in r.stdout
    assert time.monotonic() - t0 < 30


def _slow_toy(seconds: float) -> types.ModuleType:
    def run(s, device):
        import io

        from tqdm import tqdm
        for _ in tqdm(range(10), desc="fit", file=io.StringIO()):
            time.sleep(seconds / 10)
        return {"v": 1}
    m = types.ModuleType("toy_chapter_41s")
    m.STEM = "09_toy"
    m.SETTINGS = {"quick": Toy()}
    m.PARTS = lambda s: [Part("slow", run)]
    return m


def test_a_part_past_its_time_limit_stops_naming_it_and_releases_its_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_PART_TIMEOUT_S", "0.3")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match=r"part 'slow' ran past its time limit of 0\.3 s"):
        runner.compute(_slow_toy(5.0), "quick", store=tmp_path, progress=None)
    assert time.monotonic() - t0 < 3 and not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.lock"))
    monkeypatch.setenv("HELPERS_PART_TIMEOUT_S", "-1")
    with pytest.raises(ValueError, match="HELPERS_PART_TIMEOUT_S must be >= 0"):
        runner.compute(_slow_toy(0.0), "quick", store=tmp_path, progress=None)


def test_a_long_part_shows_its_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_HEARTBEAT_S", "0.2")
    lines = []
    runner.compute(_slow_toy(1.0), "quick", store=tmp_path, progress=lines.append)
    beats = [x for x in lines if "slow: computing for" in x]
    assert beats and any(re.search(r"\(fit \d+/10, .*ETA", x) for x in beats), lines


def test_every_seconds_setting_names_its_bad_value(monkeypatch):
    """One parser (``helpers.environment.env_seconds``) for the four ``HELPERS_*_S`` durations: unset gives the
    default, a number is read, text and negatives are errors naming the variable and the value."""
    from helpers.checkpoint import _every_s
    from helpers.local import heartbeat_s, part_timeout_s
    from helpers.locks import lock_wait_s

    readers = {"HELPERS_LOCK_WAIT_S": (lock_wait_s, 3600.0), "HELPERS_CHECKPOINT_S": (_every_s, 300.0),
               "HELPERS_HEARTBEAT_S": (heartbeat_s, 60.0), "HELPERS_PART_TIMEOUT_S": (lambda: part_timeout_s("quick"), 3600)}
    for name, (read, default) in readers.items():
        monkeypatch.delenv(name, raising=False)
        assert read() == default
        monkeypatch.setenv(name, "12.5")
        assert read() == 12.5
        for bad, why in (("soon", "a number of seconds, got 'soon'"), ("-1", ">= 0, got '-1'")):
            monkeypatch.setenv(name, bad)
            with pytest.raises(ValueError, match=f"{name} must be {re.escape(why)}"):
                read()


def test_the_cluster_extra_installs_the_ray_client():
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["cluster"]
    assert any(req.replace(" ", "").startswith("ray[client]") for req in extra), extra
