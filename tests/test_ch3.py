"""Chapter 3 data builders and parts on tiny settings: shapes, known answers, the store round trip, the
pretrained skip path, the earlier records."""
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers import data
from helpers.experiments import ch3
from helpers.metrics import PARTS

TINY = replace(ch3.SETTINGS["quick"], mnist6_train=64, mnist6_val=32, cifar_train=64, cifar_val=32,
               mnist6_fit=replace(ch3.SETTINGS["quick"].mnist6_fit, epochs=1, milestones=()),
               cifar_fit=replace(ch3.SETTINGS["quick"].cifar_fit, epochs=1, milestones=()),
               augmentations=ch3.AUGMENTATIONS, widths=(1, 2), n_eval=16)
CPU = torch.device("cpu")


def test_profiles_and_paper_architectures():
    assert set(ch3.SETTINGS) == {"quick", "standard", "steps", "paper"}
    assert ch3.SETTINGS["paper"].cifar_fit.epochs == 200 and len(ch3.SETTINGS["paper"].seeds) == 3
    # ResNet-44: 6n + 2 layers with n = 7; WRN-40: 6n + 4 with n = 6
    n_conv = lambda m: sum(isinstance(x, torch.nn.Conv2d) and x.kernel_size == (3, 3) for x in m.modules())
    assert n_conv(ch3.CifarResNet(7)) + 1 == 44  # 43 3x3 convs + the linear head
    assert n_conv(ch3.CifarResNet(6, 2)) == 6 * 6 + 1  # WRN-40 = 6n + 4 with n = 6 (counting 1x1 projections + head)
    assert ch3.CifarResNet(1)(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert ch3.ConvNet7(6)(torch.rand(2, 1, 28, 28)).shape == (2, 6)
    with pytest.raises(ValueError, match="width factor"):
        ch3.CifarResNet(1, 0)


@pytest.mark.parametrize("task", ch3.MNIST6_TASKS)
def test_mnist6_builders(need_data, task):
    need_data("mnist")
    ds = ch3.mnist6(task, 200, 50, seed=0)
    x, y = ds["train"]
    assert x.shape == (200, 1, 28, 28) and ds["val"][0].shape == (50, 1, 28, 28)
    assert ds["classes"] == (24 if task.endswith("Eq") else 6)
    assert int(y.min()) >= 0 and int(y.max()) < ds["classes"]
    if task.endswith("Eq"):
        assert len(y.unique()) > 12  # digits x rotations


def test_standard_trains_on_as_many_cifar_images_online_as_offline(need_data):
    """Standard's one-GPU budget: its CIFAR networks see the offline subset's image count, not all 50,000."""
    need_data("cifar10")
    s, n_here = ch3.SETTINGS["standard"], len(data.load("cifar10", train=True)[0])
    assert s.cifar_train == 8068  # the offline subset's size (tests/test_data.py)
    assert ch3.cifar10(s.cifar_train, 10)["n_train"] == min(8068, n_here)  # all of the subset, or 8,068 of 50,000
    assert ch3.SETTINGS["paper"].cifar_train == 50_000


def test_mnist6_rot_inv_is_mnist6_rotated(need_data):
    need_data("mnist")
    plain, inv = ch3.mnist6("MNIST6", 50, 10, 0), ch3.mnist6("MNIST6-Rot-Inv", 50, 10, 0)
    assert torch.equal(plain["train"][1], inv["train"][1])
    xp, xi = plain["train"][0], inv["train"][0]
    assert all(any(torch.equal(torch.rot90(xp[i], k, (-2, -1)), xi[i]) for k in range(4)) for i in range(50))
    with pytest.raises(ValueError, match="valid"):
        ch3.mnist6("MNIST10", 10, 10)


def test_cifar_and_augmentations(need_data):
    need_data("cifar10")
    ds = ch3.cifar10(100, 20, seed=0)
    x = ds["train"][0]
    assert x.shape == (100, 3, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    gen = torch.Generator().manual_seed(0)
    for name in ("random crop", "horizontal flip", "RandAugment"):
        assert ch3.augmenter(name)(x[:8], gen).shape == (8, 3, 32, 32)
    assert ch3.augmenter("baseline") is None
    crop = ch3.augmenter("random crop")(x[:8], gen)
    assert not torch.equal(crop, x[:8])
    with pytest.raises(ValueError, match="valid"):
        ch3.augmenter("mixup")


def test_batched_randaugment_applies_each_images_own_torchvision_operations(need_data):
    need_data("cifar10")
    from torchvision.transforms import v2
    x = ch3.cifar10(64, 1, seed=0)["train"][0]
    draws = []
    out = ch3.randaugment_batch(x, torch.Generator().manual_seed(3), draws=draws)
    ra = v2.RandAugment()
    space = ra._AUGMENTATION_SPACE
    names, levels = list(space), [fn(31, 32, 32) for fn, _ in space.values()]
    assert len(draws) == 2 and len(set(draws[0][0].tolist()) | set(draws[1][0].tolist())) > 10
    for i in range(len(x)):  # image i by torchvision, one operation at a time, with image i's draws
        xi = (x[i:i + 1] * 255).round().to(torch.uint8)
        for op, neg in draws:
            o = int(op[i])
            mag = float(levels[o][9]) if levels[o] is not None else 0.0
            assert not (neg[i] and not space[names[o]][1])  # only signed operations are negated
            xi = ra._apply_image_or_video_transform(xi, names[o], -mag if neg[i] else mag,
                                                    interpolation=ra.interpolation, fill=ra._fill)
        assert torch.equal(out[i:i + 1], xi.float() / 255), (i, [names[int(op[i])] for op, _ in draws])
    assert not torch.equal(out, ch3.randaugment_batch(x, torch.Generator().manual_seed(4)))


def test_translation_of_cifar_resnet_is_near_exact_at_init():
    # cyclic shifts by multiples of the total stride: in/equivariance near 1 except at the zero-padded borders
    r = ch3.measure(ch3.CifarResNet(1).eval(), torch.rand(8, 3, 32, 32), [ch3.diagonal_shift(4)])
    assert r["equivariance_parts"].shape == (len(PARTS),) and r["equivariance_parts"][0] > 0.8
    with pytest.raises(ValueError, match="stride"):
        ch3.measure(ch3.CifarResNet(1), torch.rand(2, 3, 32, 32), [ch3.diagonal_shift(1)])


def test_parts_of_each_profile_and_their_hashes():
    """One part per MNIST6 task, augmentation and width; WRN k=1 is the baseline's part where it is the same network;
    ``image_dir`` enters only the pretrained part's hash, a CIFAR setting only the CIFAR parts'."""
    quick, std = ch3.SETTINGS["quick"], ch3.SETTINGS["standard"]
    names = [p.name for p in ch3.PARTS(quick)]
    assert names == ["similarity-demo", "toy", "mnist6", "mnist6-rot-inv", "mnist6-rot-eq", "aug-baseline",
                     "aug-random-crop", "aug-randaugment", "width-2", "pretrained"]
    assert ch3.settings.width_part(quick, 1) == "aug-baseline" and ch3.settings.width_part(std, 1) == "width-1"
    assert {"aug-cutmix", "aug-horizontal-flip", "width-1", "width-8"} <= {p.name for p in ch3.PARTS(std)}
    other = replace(std, image_dir="/some/images")
    for p in ch3.PARTS(std):
        same = p.digest(ch3.STEM, std) == p.digest(ch3.STEM, other)
        assert same == (p.name != "pretrained"), p.name
    cifar = replace(std, cifar_fit=replace(std.cifar_fit, epochs=1))
    assert {p.name for p in ch3.PARTS(std) if p.digest(ch3.STEM, std) != p.digest(ch3.STEM, cifar)} == {
        *(f"aug-{ch3.settings.slug(a)}" for a in std.augmentations), *(f"width-{k}" for k in std.widths)}
    assert ch3.PARTS(quick)[-1].compute(quick, CPU)["skipped"].startswith("no folder")


def test_parts_smoke_through_the_store(need_data, tmp_path):
    """Every part on tiny settings, computed and read back through the store as a page gets them: claims, the
    per-part tables and the timing of each trained model."""
    need_data("mnist")
    need_data("cifar10")
    from helpers import runner
    ev = runner.evidence(ch3, "quick", tmp_path, progress=None, settings=TINY)
    assert set(ev) == {p.name for p in ch3.PARTS(TINY)} and "width-1" not in ev
    demo = ev["similarity-demo"]
    assert demo["correlation"]["plain"] == pytest.approx(demo["correlation"]["shifted"], abs=1e-6)  # float32 of +0.5
    assert demo["cosine"]["shifted"] > demo["cosine"]["plain"] and demo["example"][0].shape == (8, 8)
    assert set(ev["toy"]) == {"invariant", "equivariant", "random"}
    assert "rho_cosine" in ev["aug-baseline"]["fig2b"] and ev["pretrained"]["skipped"].startswith("no folder")
    c = ch3.results.collect(ev, TINY)
    assert set(c["mnist6"]) == set(ch3.MNIST6_TASKS) and len(c["mnist6"]["MNIST6"]["runs"]) == 1
    assert set(c["augmentations"]) == set(ch3.AUGMENTATIONS) and c["widths"][1] is ev["aug-baseline"]
    assert c["widths"][2]["runs"][0]["equivariance_parts"].shape == (len(PARTS),)
    full = ch3.claims.values(ev, TINY)
    assert set(full) == set(ch3.claims.CLAIMS)
    assert full["C3.2"] == [True] * 5 and full["C3.6a"] is None and full["C3.6b"] is None
    assert all(full[c] is not None for c in ("C3.1a", "C3.1b", "C3.3", "C3.4a", "C3.4b", "C3.5"))
    assert set(ch3.claims.values(ev, TINY, "sample")) == set(full)
    assert [r.claim.id for r in ch3.claims.table(ev, TINY).results] == list(ch3.claims.CLAIMS)
    # the table names its reading of eq. 7 on the claims that read equivariance, and only there
    for matching in ("shared", "sample"):
        recs = {r["id"]: r for r in ch3.claims.table(ev, TINY, matching).to_records()}
        assert {c for c, r in recs.items() if "matching" in r} == set(ch3.claims.READS_EQUIVARIANCE)
        assert all(recs[c]["matching"] == matching for c in ch3.claims.READS_EQUIVARIANCE)
    frames = ch3.results.frames(c)
    eqv = frames["mnist6"].loc[("MNIST6", "equivariance_shared"), list(PARTS)].to_numpy()
    assert np.allclose(eqv, c["mnist6"]["MNIST6"]["runs"][0]["equivariance_shared_parts"])
    sec = frames["seconds"]  # every trained model's training and measuring time
    assert len(sec) == 3 + len(ch3.AUGMENTATIONS) + 2 and (sec.to_numpy() > 0).all()
    # a partial study: experiments not run leave their claims None, the others keep their values
    part = ch3.claims.claim_values(None, None, ev["toy"], c["mnist6"], None, {1: c["widths"][1]}, None)
    assert part == {**dict.fromkeys(full), "C3.2": full["C3.2"], "C3.3": full["C3.3"]}


def test_subchecks_name_what_each_verdict_compares():
    """Known answers: the narrowest WRN above the widest in Middle (beyond noise), below it in Late; the labelled
    sub-checks are those claim_values judges, in its order, and the frame reads each outcome off them."""
    def runs(eq_mid, eq_late, inv=0.1):
        return [{"equivariance_parts": np.array([0.9, m, l, 0.5, 0.5]), "invariance_parts": np.full(5, inv)}
                for m, l in zip(eq_mid, eq_late)]

    wid = {1: {"runs": runs([0.70, 0.71, 0.69], [0.50, 0.51, 0.49])},
           8: {"runs": runs([0.50, 0.52, 0.48], [0.80, 0.81, 0.79])}}
    checks = ch3.claims.labelled_checks(None, None, wid, "equivariance")
    assert list(checks) == ["C3.5"] and [label for label, _ in checks["C3.5"]] == [
        "k=1 > k=8: equivariance in Middle", "k=1 > k=8: equivariance in Late"]
    assert ch3.claims.claim_values(None, None, None, None, None, wid, None, "sample")["C3.5"] == [
        c for _, c in checks["C3.5"]]
    frame = ch3.views.subcheck_frame(checks)
    assert list(frame["outcome"]) == ["holds", "contradicts"]
    assert frame["a − b"].to_numpy() == pytest.approx([0.2, -0.3])
    assert (frame["2 SE"] > 0).all() and (frame["2 SE"] < 0.05).all()
    one_seed = {k: {"runs": r["runs"][:1]} for k, r in wid.items()}  # one seed: every effect undecided
    assert set(ch3.views.subcheck_frame(ch3.claims.labelled_checks(None, None, one_seed, "equivariance"))["outcome"]
               ) == {"inconclusive"}
    with pytest.raises(ValueError, match="unknown matching 'both'"):
        ch3.claims.subchecks({}, ch3.SETTINGS["quick"], "both")


def test_record_frames_of_committed_records():
    from helpers.records import recorded

    recs = [*recorded("03_learned_equivariance_depth").values(),
            *recorded("03_learned_equivariance_depth", name="cpu_parts.json").values(),
            *recorded("03_learned_equivariance_depth", name="gpu_parts.json").values(),
            *recorded("03_learned_equivariance_depth", name="h100_results.json").values()]
    if not recs:
        pytest.skip("no chapter-3 record committed")
    for rec in recs:
        frames = ch3.results.frames(rec["numbers"])
        seconds = frames.pop("seconds", None)  # in records made since runs are timed
        assert seconds is None or (list(seconds.columns) == ["train s", "measure s"] and (seconds > 0).all().all())
        for key, frame in frames.items():
            assert list(frame.columns) == [*PARTS, "accuracy"]
            assert (frame.xs("equivariance", level="measure")[list(PARTS)]
                    >= frame.xs("invariance", level="measure")[list(PARTS)] - 1e-6).all().all()  # eqv >= inv
        if "claim_values" in rec["numbers"]:  # the partial record: its claims are those of its experiments
            ran = rec["numbers"]["experiments"]
            assert (rec["numbers"]["claim_values"]["C3.3"] is None) == ("mnist6" not in ran)
            assert (rec["numbers"]["claim_values"]["C3.5"] is None) == (not any(e.startswith("widths") for e in ran))


def test_frozen_claims_of_the_earlier_records_give_what_those_runs_computed():
    """The chapter's frozen table (``helpers.history``: the claims' code on each committed earlier record's
    numbers, judged by today's rules) gives the numbers that run computed for the threshold claims, under each
    reading of eq. 7, and decides the claims the run decided."""
    from helpers.claims import VERDICTS
    from helpers.records import frozen, recorded

    entries = frozen(ch3.STEM)
    if not entries:
        pytest.skip("the earlier chapter-3 records are not committed")
    ran = lambda cv: {k: v for k, v in cv.items() if v is not None}  # noqa: E731  (C3.6 was one claim then)
    numbers = [c for c, cl in ch3.claims.CLAIMS.items() if cl.relation in ("<=", ">=", "approx")]
    assert [e["record"] for e in entries] == ["gpu_parts.json", "cpu_parts.json", "cpu_widths.json"]
    for e in entries:
        n = recorded(ch3.STEM, name=e["record"])[e["profile"]]["numbers"]
        for key, then in (("claims_per_image", ran(n["claim_values"])), ("claims", ran(n["claim_values_shared"]))):
            now = {c["id"]: c["ours"] for c in e[key]}
            assert set(now) == set(then)
            assert {c: now[c] for c in numbers if c in now} == pytest.approx({c: then[c] for c in numbers if c in then})
            assert all(c["verdict"] in VERDICTS for c in e[key])
        assert [c["id"] for c in e["claims_per_image"]] == [c for c in ch3.claims.CLAIMS if c in ran(n["claim_values"])]


def test_pretrained_skips_fast_offline():
    """Offline (as every test is: conftest refuses the network) the pretrained path skips at once, downloading
    nothing; on a machine that is online this test must not start fetching 1.5 GB of checkpoints."""
    import socket

    with pytest.raises(OSError, match="tests do not use the network"):
        socket.create_connection(("huggingface.co", 443), timeout=2)
    assert not ch3.pretrained._online()
    t = time.perf_counter()
    r = ch3.run_pretrained(None)
    assert r["skipped"].startswith("no folder")
    r = ch3.run_pretrained("/tmp")
    assert r["skipped"].startswith("no internet") and time.perf_counter() - t < 10


class _TinyViT(torch.nn.Module):
    """A timm-like token model: patch embedding, token-wise blocks, class token, head (no timm needed)."""

    global_pool = "token"

    def __init__(self, d=8):
        super().__init__()
        self.embed = torch.nn.Conv2d(3, d, 4, 4)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, d))
        self.blocks = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Linear(d, d), torch.nn.GELU()) for _ in range(3)])
        self.head_drop, self.head = torch.nn.Identity(), torch.nn.Linear(d, 5)

    def get_classifier(self):
        return self.head

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)  # (B, N, d)
        t = self.blocks(torch.cat([self.cls.expand(len(t), -1, -1), t], 1))  # (B, 1 + N, d)
        return self.head(self.head_drop(t[:, 0]))


def test_token_models_and_pretrained_layers():
    m = _TinyViT().eval()
    layers = ch3.pretrained_layers(m)
    assert list(layers) == ["block1", "block2", "block3", "pool", "final"]
    # token-wise blocks commute with any permutation of the patch grid: a one-patch shift is exactly invariant
    from helpers.metrics import layer_in_equivariance, token_maps
    assert token_maps(torch.zeros(2, 1 + 16, 8)).shape == (2, 8, 4, 4)
    with pytest.raises(ValueError, match="square"):
        token_maps(torch.zeros(2, 7, 8))
    r = layer_in_equivariance(m, layers, torch.rand(6, 3, 16, 16), [ch3.diagonal_shift(4)])
    assert r["invariance"][:3].min() > 1 - 1e-5
    r = layer_in_equivariance(m, layers, torch.rand(6, 3, 16, 16), [ch3.rotation(1)])  # patches rotate: not exact
    assert r["invariance"][:3].max() < 0.99


def test_load_images(tmp_path, need_data):
    need_data("cifar10")
    from PIL import Image
    x = ch3.cifar10(3, 1)["train"][0]
    for i, im in enumerate(x):
        Image.fromarray((im.permute(1, 2, 0) * 255).round().byte().numpy()).save(tmp_path / f"{i}.png")
    assert ch3.load_images(str(tmp_path), 2, size=16).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="no .jpg"):
        ch3.load_images(str(tmp_path / "none"), 2)
    # class subfolders are sampled evenly, not the first folder first
    for c, im in zip("ab", x[:2]):
        (tmp_path / "classes" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray((im.permute(1, 2, 0) * 255).round().byte().numpy()).save(tmp_path / "classes" / c / f"{i}.png")
    two = ch3.load_images(str(tmp_path / "classes"), 2, size=32)
    assert torch.allclose(two[0], x[0], atol=1 / 255 + 1e-6) and torch.allclose(two[1], x[1], atol=1 / 255 + 1e-6)


def test_imagenette_folder_and_offline_skip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="imagenette2-320/val"):
        ch3.imagenette_val(tmp_path, download=False)
    (tmp_path / "imagenette2-320" / "val").mkdir(parents=True)
    assert ch3.imagenette_val(tmp_path, download=False) == tmp_path / "imagenette2-320" / "val"
    monkeypatch.setattr(ch3.pretrained, "_online", lambda *a, **k: False)
    assert ch3.run_pretrained(ch3.IMAGENETTE)["skipped"].startswith(("no internet", "the timm package"))


def test_measure_pretrained_on_the_timm_architectures():
    """The six checkpoints' architectures (random weights, no download) go through the whole Figs. 4/7 path."""
    pytest.importorskip("timm")
    torch.manual_seed(0)
    pre = ch3.measure_pretrained(torch.rand(3, 3, 224, 224), pretrained=False)
    assert set(pre["models"]) == set(ch3.PRETRAINED) and pre["n_images"] == 3
    assert {n: m["kind"] for n, m in pre["models"].items()} == {
        n: "token" if n.startswith(("vit", "mixer")) else "cnn" for n in ch3.PRETRAINED}
    for m in pre["models"].values():
        for t in ("translation", "rotation"):
            r = m[t]
            assert r["parts"]["Pool"] == ["pool"] and r["parts"]["Final"] == ["final"]
            assert all(len(r[f"{k}_parts"]) == len(PARTS) for k in ch3.MEASURES)
            assert (r["equivariance"] >= r["invariance"] - 1e-9).all()
    for t in ("translation", "rotation"):
        for rho in pre["spearman"][t].values():
            assert len(rho) == len(PARTS) and all(np.isnan(v) or -1 <= v <= 1 for v in rho)
    cv = ch3.claims.claim_values(None, None, None, None, None, None, pre)
    assert cv["C3.6a"].rho == pytest.approx(pre["spearman"]["translation"]["equivariance"][-1])
    assert cv["C3.6a"].n == 6 and len(cv["C3.6b"]) == 5 and all(isinstance(c, bool) for c in cv["C3.6b"])
    fig = ch3.views.plot_pretrained(pre)
    assert len(fig.axes) == 3


def test_run_pretrained_end_to_end_with_weights_mocked(tmp_path, monkeypatch):
    """run_pretrained online, with timm's download replaced: a weight that cannot be had is a skip naming the
    model; otherwise a folder of images goes through loading, measuring and the Spearman table."""
    timm = pytest.importorskip("timm")
    from PIL import Image
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / f"{i}.jpg")
    monkeypatch.setattr(ch3.pretrained, "_online", lambda *a, **k: True)
    create = timm.create_model
    models = {"resnet18": 69.7, "vit_tiny_patch16_224": 75.5, "mixer_s32_224": 68.1}

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("no connection")
        return create(name, **kw)
    monkeypatch.setattr(timm, "create_model", offline)
    r = ch3.run_pretrained(str(tmp_path), n=2, models=models)
    assert r["skipped"].startswith("pretrained weights of resnet18 could not be loaded: OSError")
    monkeypatch.setattr(timm, "create_model", lambda name, pretrained=False, **kw: create(name, **kw))
    r = ch3.run_pretrained(str(tmp_path), n=2, models=models)
    assert r["n_images"] == 2 and list(r["models"]) == list(models)
    assert [m["kind"] for m in r["models"].values()] == ["cnn", "token", "token"]
    assert set(r["spearman"]) == {"translation", "rotation"}


def test_timm_vit_without_position_embedding_is_translation_invariant():
    """Known answer on timm's ViT-B/16: with the position embedding at zero, attention and MLPs commute with any
    permutation of the patches, so a shift by whole patches (32 px = 2) is exactly invariant in every part
    (tokens follow the shift, the class token does not move); with a large random embedding it is not."""
    timm = pytest.importorskip("timm")
    from helpers.metrics import layer_in_equivariance
    torch.manual_seed(0)
    m = timm.create_model("vit_base_patch16_224", pretrained=False, depth=3).eval()
    layers, x = ch3.pretrained_layers(m), torch.rand(4, 3, 224, 224)
    with torch.no_grad():
        m.pos_embed.zero_()
    r = layer_in_equivariance(m, layers, x, [ch3.diagonal_shift(32)])
    assert r["invariance"].min() > 1 - 1e-4
    with torch.no_grad():
        m.pos_embed.normal_()
    r = layer_in_equivariance(m, layers, x, [ch3.diagonal_shift(32)])
    assert r["invariance"][:3].max() < 0.95


def test_a_cifar_part_resumes_each_seeds_training_from_its_checkpoint(need_data, tmp_path):
    """Inside a part, each CIFAR seed's network checkpoints under ``<part>-s<seed>``: a second run of the part
    trains nothing again and measures the same networks (CutMix's own draws included)."""
    from helpers import checkpoint

    need_data("cifar10")
    s = replace(TINY, cifar_seeds=(0, 1))

    def run():
        ck = checkpoint.Checkpoints(tmp_path / "aug-cutmix.s0.ckpt", "sha256:t", every_s=0)
        with checkpoint.scope(ck):
            return ck, ch3.runs.augmentation(s, torch.device("cpu"), "CutMix")

    ck, first = run()
    ck2, again = run()
    assert ck.resumed == [] and ck2.resumed == ["aug-cutmix-s0", "aug-cutmix-s1"]
    assert first["acc"] == again["acc"] and len(first["acc"]) == 2
    np.testing.assert_array_equal(first["runs"][1]["invariance"], again["runs"][1]["invariance"])
    # the resumed run reports the training time its checkpoint holds, not the moment it took to load it (against
    # the held time itself: the first run's own figure also counts writing the last checkpoint, which on a loaded
    # machine can be a large share of a tiny training)
    held = torch.load(tmp_path / "aug-cutmix.s0.ckpt" / "aug-cutmix-s1.pt", weights_only=False)["wall_s"]
    assert held > 0 and again["runs"][1]["seconds"]["train"] >= held


def test_cifar_nets_train_in_bf16_and_the_committed_comparison_is_shown():
    """The CIFAR networks of quick, standard and paper train in bf16 mixed precision, the steps profile's in float32
    (bf16 is no faster on this CPU at one thread), the MNIST6 CNN in float32 (its standard parts were stored so); the
    page's Deviations read the committed bf16-vs-fp32 record and its rule's verdict."""
    for name, s in ch3.SETTINGS.items():
        assert s.cifar_fit.precision == ("fp32" if name == "steps" else "bf16") and s.mnist6_fit.precision == "fp32"
    tables = ch3.studies.mixed_precision()
    if not tables:
        pytest.skip("no results/benchmarks/mixed-precision-*.json in this checkout")
    rules = [t for name, t in tables.items() if "the rule" in name]
    assert rules and all(set(t.columns) == {"bf16 - fp32", "rule's bound", "holds"} for t in rules)
    assert all(len(t) == 4 for t in rules), "accuracy and the three measures"



def test_steps_profile_is_the_papers_mnist6_and_schedule_and_keeps_earlier_hashes():
    """steps: MNIST6 exactly at the paper's settings (in channels-last layout, which changes only float rounding), the CIFAR nets on
    the subset with the paper's SGD at 100 epochs, drops at 50 % and 75 %, in float32, the widths measured along
    training; the new settings stay out of the standard and paper settings' canonical form, so no stored part's hash
    moves."""
    from helpers.partfile import canonical

    steps, paper, std = ch3.SETTINGS["steps"], ch3.SETTINGS["paper"], ch3.SETTINGS["standard"]
    for f in ("mnist6_train", "mnist6_val", "mnist6_fit", "n_eval", "seeds"):
        assert getattr(steps, f) == getattr(paper, f), f
    for p_steps, p_paper in zip(ch3.PARTS(steps), ch3.PARTS(paper)):
        if p_steps.name.startswith("mnist6"):  # the paper's settings, plus only the memory layout (channels-last)
            assert p_steps.settings_of(steps) == {**p_paper.settings_of(paper), "channels_last": True}
    f = steps.cifar_fit
    assert (f.optimizer, f.lr, f.momentum, f.weight_decay, f.batch_size) == ("sgd", 0.1, 0.9, 1e-4, 128)
    assert f.epochs >= 100 and f.milestones == (f.epochs // 2, f.epochs * 3 // 4) and f.precision == "fp32"
    assert steps.channels_last and not std.channels_last
    assert steps.cifar_train == 8068 and steps.track_epochs[-1] == f.epochs and len(steps.seeds) == 3

    new = {"track_epochs", "track_augmentations", "width_stop_acc", "channels_last"}
    assert not new & set(canonical(std)) and not new & set(canonical(paper))  # left out at their defaults
    assert not any(new & set(p.uses or ()) for p in ch3.PARTS(std))  # so no standard part's hash moved
    assert {"track_epochs", "width_stop_acc", "channels_last"} <= set(canonical(steps))


def test_tracked_training_is_the_same_training_with_its_curve_and_measures(need_data, tmp_path):
    """Known answers: measuring along training changes no number of the training (same accuracy, same final measure
    as without tracking); the curve is fit's validation history; the points sit at the tracked epochs; a resumed run
    keeps its curve and points; a stop accuracy of 0 % stops after the first epoch, measured there."""
    from helpers import checkpoint
    from helpers.training import fit as _fit  # noqa: F401  (the tracker rides inside helpers.training.fit)

    need_data("cifar10")
    s = replace(TINY, cifar_seeds=(0,), cifar_fit=replace(TINY.cifar_fit, epochs=3, milestones=(2,)), widths=(1, 2))
    plain = ch3.runs.width(s, CPU, 2)["runs"][0]
    tracked = replace(s, track_epochs=(1, 3))
    r = ch3.runs.width(tracked, CPU, 2)
    run = r["runs"][0]
    assert r["acc"] == ch3.runs.width(s, CPU, 2)["acc"]
    np.testing.assert_array_equal(run["equivariance_shared"], plain["equivariance_shared"])
    np.testing.assert_array_equal(run["curve"], plain["curve"])
    assert len(run["curve"]) == 3 == run["epochs"] and not run["stopped"]
    assert [p["epoch"] for p in run["track"]] == [1, 3]
    assert run["track"][1]["acc"] == pytest.approx(run["curve"][2])
    assert set(ch3.MEASURES) <= {k[:-6] for k in run["track"][0] if k.endswith("_parts")}
    assert run["seconds"]["track"] > 0
    frame = ch3.views.plateau_frame({"k=2": r})
    assert frame.loc[("k=2", 0), "epochs"] == 3 and frame.loc[("k=2", 0), "final %"] == pytest.approx(run["curve"][-1])
    assert len(ch3.views.curves({"k=2": r}).axes[0].lines) == 1

    def resumed():
        ck = checkpoint.Checkpoints(tmp_path / "width-2.s0.ckpt", "sha256:t", every_s=0)
        with checkpoint.scope(ck):
            return ck, ch3.runs.width(tracked, CPU, 2)["runs"][0]
    resumed()
    ck, again = resumed()
    assert ck.resumed == ["width-2-s0"] and [p["epoch"] for p in again["track"]] == [1, 3]
    np.testing.assert_array_equal(again["curve"], run["curve"])
    np.testing.assert_array_equal(again["track"][0]["equivariance_shared_parts"],
                                  run["track"][0]["equivariance_shared_parts"])
    stop = ch3.runs.width(replace(tracked, width_stop_acc=((2, 0.0),)), CPU, 2)["runs"][0]
    assert stop["stopped"] and stop["epochs"] == 1 and [p["epoch"] for p in stop["track"]] == [1]
    uses = {p.name: p.uses for p in ch3.PARTS(replace(tracked, width_stop_acc=((2, 0.0),)))}
    assert {"track_epochs", "width_stop_acc"} <= set(uses["width-2"]) and "track_epochs" not in uses["aug-baseline"]
    cl = ch3.runs.width(replace(tracked, channels_last=True), CPU, 2)["runs"][0]  # the layout: other rounding
    assert cl["epochs"] == 3 and [p["epoch"] for p in cl["track"]] == [1, 3]
    assert "channels_last" in {p.name: p.uses for p in ch3.PARTS(replace(s, channels_last=True))}["aug-baseline"]


def test_matched_accuracy_rule_known_answers():
    """A* is the lowest of each network's best tracked accuracy; a network's value is interpolated linearly in
    accuracy at its first tracked point at or above A*; C3.5 gains the matched comparison only where every network
    was tracked; a plateau is < 1 point of change over the last 10 % of epochs."""
    from helpers.experiments.ch3.results import at_accuracy, common_accuracy, plateau

    def pts(accs, vals):
        return [{"epoch": e + 1, "acc": a, "equivariance_shared_parts": np.full(5, v)}
                for e, (a, v) in enumerate(zip(accs, vals))]

    a, b = pts([20, 40, 35, 60], [0.1, 0.3, 0.5, 0.9]), pts([30, 50], [0.2, 0.6])
    assert common_accuracy([a, b]) == 50
    assert at_accuracy(a, 50, "equivariance_shared")[0] == pytest.approx(0.5 + (50 - 35) / (60 - 35) * 0.4)
    assert at_accuracy(a, 30, "equivariance_shared")[0] == pytest.approx(0.2)  # between epochs 1 and 2
    assert at_accuracy(a, 10, "equivariance_shared")[0] == pytest.approx(0.1)  # the first point
    with pytest.raises(ValueError, match="never reaches 70.00 %"):
        at_accuracy(a, 70, "equivariance_shared")
    with pytest.raises(ValueError, match="no tracked points"):
        common_accuracy([a, []])
    assert plateau([10, 50, 60, 60.5, 61, 61.2, 61.3, 61.3, 61.4, 61.5, 61.9])["plateaued"]
    assert not plateau(list(range(20)))["plateaued"] and plateau(list(range(20)))["change"] == pytest.approx(2.0)

    def runs(mid, late, track):
        return [{"equivariance_shared_parts": np.array([0.9, m, l, 0.5, 0.5]), "invariance_parts": np.zeros(5),
                 **({"track": t} if track else {})} for m, l, t in zip(mid, late, track or [None] * 3)]
    narrow = [pts([30, 60], [0.5, 0.7 + d]) for d in (0, 0.01, 0.02)]
    wide = [pts([40, 55], [0.2, 0.3 + d]) for d in (0, 0.01, 0.02)]
    wid = {1: {"runs": runs([0.7] * 3, [0.5] * 3, narrow)}, 8: {"runs": runs([0.6] * 3, [0.4] * 3, wide)}}
    checks = ch3.claims.labelled_checks(None, None, wid, "equivariance_shared")["C3.5"]
    assert len(checks) == 4 and "matched accuracy 55.0 %" in checks[2][0]
    m = ch3.results.matched_widths(wid)
    assert m["acc"] == 55 and m["values"][8][:, 1] == pytest.approx([0.3, 0.31, 0.32])
    assert m["values"][1][:, 1] == pytest.approx([0.5 + 25 / 30 * 0.2 + d * 25 / 30 for d in (0, 0.01, 0.02)])
    untracked = {k: {"runs": runs([0.7] * 3, [0.5] * 3, None)} for k in (1, 8)}
    assert len(ch3.claims.labelled_checks(None, None, untracked, "equivariance_shared")["C3.5"]) == 2
    assert ch3.views.plot_matched(wid) is not None and ch3.views.plot_matched(untracked) is None


def test_throughput_benchmark_times_each_net_and_variant(tmp_path):
    """benchmarks.ch3_throughput end to end on the smallest net, one step per variant: every variant timed in CPU
    and wall milliseconds, the validation pass and the measure timed, the JSON written."""
    import json

    from benchmarks import ch3_throughput

    n0 = torch.get_num_threads()
    try:
        out = ch3_throughput.main(["--nets", "convnet7", "--steps", "1", "--budget-s", "0", "--warmup", "0",
                                   "--n-val", "40", "--n-eval", "8", "--out", str(tmp_path), "--name", "t"])
    finally:
        torch.set_num_threads(n0)  # the benchmark runs on one thread; the other tests keep theirs
    rec = json.loads((tmp_path / "t.json").read_text())
    assert set(rec["step_ms"]["MNIST6 7-layer CNN"]) == set(ch3_throughput.VARIANTS)
    assert all(v > 0 for v in rec["step_ms"]["MNIST6 7-layer CNN"].values())
    assert rec["steps_timed"]["MNIST6 7-layer CNN"]["fp32"] == 3  # at least 3 timed steps
    assert rec["eval"]["MNIST6 7-layer CNN"]["measure_s"] > 0 and out["threads"] == 1
    assert set(rec["augment_ms"]) == {"random crop", "horizontal flip", "RandAugment"}


def test_the_channels_last_cnn_is_the_same_network():
    """Known answer: the steps profile's channels-last 7-layer CNN has the contiguous one's weights (same seed) and
    outputs up to float rounding; only its memory layout differs."""
    torch.manual_seed(0)
    a = ch3.models.ConvNet7(6)
    torch.manual_seed(0)
    b = ch3.models.ConvNet7(6).to(memory_format=torch.channels_last)  # as train_and_measure(channels_last=True)
    conv = [p for p in b.parameters() if p.ndim == 4]
    assert conv and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv)
    assert not all(p.is_contiguous(memory_format=torch.channels_last) for p in a.parameters() if p.ndim == 4)
    x = torch.randn(8, 1, 28, 28)
    a.eval(), b.eval()
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=1e-4, atol=1e-5)
