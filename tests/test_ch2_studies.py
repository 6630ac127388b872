"""Chapter 2's studies beyond the paper's tables (``studies``): parts of the standard profile only, each computed on
tiny settings, and the page's reading of them (``results``, ``full_ablation.studies``)."""
from dataclasses import replace

import pytest
import torch

from helpers.checkpoint import Checkpoints, scope
from helpers.experiments import ch2
from helpers.experiments.ch2.settings import CifarPreprocessing, EtaSweep

CPU = torch.device("cpu")
TINY = replace(ch2.SETTINGS["quick"], n_train=96, n_test=64, hidden=8,
               table2=ch2.TrainConfig(epochs=2, batch_size=32, lr=3e-2, lr_eta=0.1, lr_eta_other=0.1, samples=2,
                                      eval_samples=2, log_every=1),
               cifar_n_train=64, cifar_n_test=32, cifar_hidden=8,
               cifar=ch2.TrainConfig(epochs=1, batch_size=32, samples=2, eval_samples=2, log_every=1))


def test_the_studies_are_parts_of_the_standard_profile_only():
    for profile, s in ch2.SETTINGS.items():
        names = {p.name for p in ch2.PARTS(s)}
        assert (set(ch2.settings.STUDIES) <= names) == (profile == "standard"), profile
        assert not set(ch2.settings.STUDIES) & names or profile == "standard"
    parts = {p.name: p for p in ch2.PARTS(ch2.SETTINGS["standard"])}
    # the study's own sizes enter its settings hash: another sweep is another part
    eta = parts["eta-sweep"]
    other = replace(eta, own=replace(eta.own, epochs=6))
    assert eta.settings_of(ch2.SETTINGS["standard"])["own"]["epochs"] == 5
    assert str(eta.digest(ch2.STEM, ch2.SETTINGS["standard"])) != str(other.digest(ch2.STEM, ch2.SETTINGS["standard"]))


def test_eta_sweep_fixes_and_learns_one_invariance(need_data):
    """Fixed members keep their value on both generators of the type, the learned one moves, the other generators
    stay 0."""
    need_data("mnist")
    r = ch2.studies.run_eta_sweep(TINY, "translation", "translated", (0.0, 0.3), CPU, learned_from=(0.2,))
    assert r["names"] == ["fixed 0", "fixed 0.3", "learned (0.2 init)"] and r["learned"] == [False, False, True]
    torch.testing.assert_close(r["eta"][:2, :2], torch.tensor([[0.0, 0.0], [0.3, 0.3]]))
    assert not torch.allclose(r["eta"][2, :2], torch.tensor([0.2, 0.2]))
    assert (r["eta"][:, 2:] == 0).all() and torch.isfinite(r["elbo"]).all()
    frame = ch2.results.eta_sweep_frame([r])
    assert list(frame["eta final"].round(2)) == [0.0, 0.3, round(float(r["eta"][2, :2].abs().mean()), 2)]


@pytest.mark.parametrize("inv, variant", [("affine", "translated"), ("none", "regular"), ("shear", "regular"),
                                          ("scale", "rotated")])
def test_eta_sweep_rejects_bad_input(inv, variant):
    with pytest.raises(ValueError, match=repr(inv) if inv in ("affine", "none", "shear") else repr(variant)):
        ch2.studies.run_eta_sweep(TINY, inv, variant, (0.0,), CPU)


def test_eta_sweep_part_on_tiny_settings(need_data):
    need_data("mnist")
    study = EtaSweep(hidden=8, samples=2, epochs=1, sweeps=(("scale", "scaled", (0.0, 0.2), (0.1,)),
                                                            ("translation", "regular", (0.0,), ())))
    r = ch2.studies.eta_sweep(TINY, CPU, study)
    assert (r["hidden"], r["samples"], r["epochs"], r["n_train"]) == (8, 2, 1, 96)
    assert [s["generators"] for s in r["sweeps"]] == [[3, 4], [0, 1]]
    frame = ch2.results.eta_sweep_frame(r["sweeps"])
    assert frame.shape == (4, 3) and list(frame["eta final"])[:2] == [0.0, 0.2]


def test_cifar_preprocessing_part_on_tiny_settings(need_data, tmp_path):
    """Inside a part with checkpoints, each arm trains its own plain MLP (a second arm must not resume the first's
    finished run): the two arms that differ only in the first layer's rate end with different numbers; each arm is
    kept as a piece."""
    need_data("cifar10")
    study = CifarPreprocessing(arms=(("raw", False, 3e-4), ("std, 3e-4", True, 3e-4), ("std, 1e-1", True, 1e-1)))
    with scope(Checkpoints(tmp_path / "ckpt", "sha256:0", pieces=tmp_path / "pieces")):
        r = ch2.studies.cifar_preprocessing(TINY, CPU, study)
    kept = sorted(f.name for f in (tmp_path / "pieces").glob("arm-*.json"))
    assert kept == ["arm-0.json", "arm-1.json", "arm-2.json"]
    assert [a["arm"] for a in r["arms"]] == ["raw", "std, 3e-4", "std, 1e-1"] and r["n_train"] > 0
    assert r["arms"][1]["elbo"] != r["arms"][2]["elbo"]
    frame = ch2.results.cifar_frame(r)
    assert list(frame.columns) == ["test acc (%)", "test log-lik.", "ELBO / point", "s"] and len(frame) == 3


def test_the_page_reads_the_studies_from_the_standard_profile(need_data, tmp_path, monkeypatch):
    """A standard page reads its own study parts; a page of another profile reads the standard profile's where they
    are stored (here: none, so it shows none and the views say so); the views draw a stored study's table."""
    from helpers.evidence import Evidence

    need_data("mnist")
    study = EtaSweep(hidden=8, samples=2, epochs=1, sweeps=(("scale", "scaled", (0.0, 0.2), ()),))
    r = ch2.studies.eta_sweep(TINY, CPU, study)
    meta = {"device": "cpu", "date": "2026-12-07T00:00:00+00:00", "wall_time_s": 1.0}
    std = Evidence(ch2.STEM, "standard", "standard", "", {"eta-sweep": r, "t2-full": {}},
                   {"eta-sweep": meta}, {"eta-sweep": "local"})
    got = ch2.full_ablation.studies(std, tmp_path / "store")
    assert list(got) == ["eta-sweep"] and got.profile == "standard"
    ch2.views.show_eta_sweep(got)
    ch2.views.show_cifar_preprocessing(got)  # not stored: a note
    monkeypatch.setenv("HELPERS_IGNORE_COMMITTED", "1")
    quick = ch2.full_ablation.studies(Evidence(ch2.STEM, "quick", "quick", "", {"t2-full": {}}), tmp_path / "s")
    assert quick.profile == "quick" and not len(quick)
    ch2.views.show_eta_sweep(quick)
