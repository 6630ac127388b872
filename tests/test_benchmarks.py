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


def test_ch3_benchmark_rows_compare_the_same_numbers():
    """The measure's two ways agree (checked inside, or it raises) and both rows of each benchmark are timed."""
    import torch

    from benchmarks import metrics
    rows = metrics._ch3_rows(torch.device("cpu"), repeats=1, n_measure=12, width=1)
    assert [r["method"] for r in rows] == ["streamed on the device", "maps to the host", "grouped by operation",
                                           "image by image"]
    assert all(r["seconds"] > 0 for r in rows) and rows[0]["slowdown"] == rows[2]["slowdown"] == 1.0
