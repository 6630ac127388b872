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


def test_ch2_step_times_every_kind_of_sweep_a_profile_trains(need_data, tmp_path):
    need_data("cifar10")
    from benchmarks import ch2_step
    from helpers.experiments.ch2.settings import SETTINGS

    kinds = ch2_step.sweeps(SETTINGS["standard"])
    assert list(kinds) == ["Table 1, rff, full", "Table 1, rff", "Table 1, relu", "Table 2", "Table 3"]
    assert [kinds[k][0].members for k in list(kinds)[:3]] == [12, 10, 10]  # as the parts train them (ML on full)
    assert sum(k[3] for k in kinds.values()) == 6 + 2 * 4 * 3 and kinds["Table 2"][0].members == 5  # T1; T2, T3 x seeds
    assert kinds["Table 3"][0].image_shape == (3, 32, 32) and kinds["Table 2"][3] == 4 * 3  # datasets x seeds
    out = ch2_step.main(["--device", "cpu", "--profile", "quick", "--steps", "1", "--out", str(tmp_path),
                         "--compare"])
    r = out["sweeps"]["Table 1, rff, full"]
    assert r["weight_space"]["ms_per_step"] > 0 and r["speedup"] > 0
    assert r["ms_per_step"] > 0 and r["steps_per_sweep"] == 15 * 16 and r["top"][0]["share"] > 0
    assert (tmp_path / "ch2-step-quick-cpu.json").exists() and out["train_s_total"] > 0
    with pytest.raises(SystemExit, match="--steps must be >= 1, got 0"):
        ch2_step.main(["--device", "cpu", "--steps", "0"])
