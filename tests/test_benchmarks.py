"""The benchmark tools run on a CPU (their numbers are recorded on the GPU machine)."""
import json

import pytest

from benchmarks import profile_step


def test_profile_step_writes_both_ways(need_data, tmp_path):
    need_data("mnist")
    out = profile_step.main(["--device", "cpu", "--members", "2", "--n", "512", "--batch", "256",
                             "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "profile-step-cpu.json").read_text())
    assert saved["steps"] == out["steps"] == 2
    for way in ("fit_ensemble", "sequential fit"):
        assert saved[way]["ms_per_step_profiled"] > 0
        assert saved[way]["top_by_host_time"], way
        assert set(saved[way]["runtime_calls_per_step"]) == {"copies", "syncs", "launches"}


def test_profile_step_rejects_bad_sizes():
    with pytest.raises(SystemExit, match="n >= batch"):
        profile_step.main(["--device", "cpu", "--n", "100", "--batch", "256"])
