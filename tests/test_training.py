import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import data
from helpers.groups import ROT4
from helpers.models import MLP, count_parameters
from helpers.training import FitConfig, build_models, fit, fit_ensemble, predict, accuracy


@pytest.fixture
def mnist_small(need_data):
    need_data("mnist")
    x, y = data.load("mnist")
    tr, va = data.split_indices(len(x), (1024, 512), seed=0)
    return (data.to_unit(x[tr]), y[tr]), (data.to_unit(x[va]), y[va])


def rot4_augment(x, gen):
    """A random element of ROT4 per sample (vmap-free: runs on a (B, H, W) batch)."""
    g = torch.randint(0, 4, (len(x),), generator=gen)
    return torch.stack([ROT4.act(xi, int(gi)) for xi, gi in zip(x, g)])


def test_fit_learns_and_selects_best(mnist_small):
    train, val = mnist_small
    torch.manual_seed(0)
    res = fit(MLP(784, [64], 10), train, val, FitConfig(epochs=4, batch_size=64))
    scores = res.history["val_score"]
    assert len(scores) == 4 and res.best_score == max(scores) and scores[res.best_epoch] == res.best_score
    assert res.best_score > 0.8  # real MNIST, 1k samples: far above the 0.1 chance level
    assert accuracy(predict(res.model, val[0]), val[1]) == pytest.approx(res.best_score)


@pytest.mark.parametrize("augment", [None, rot4_augment], ids=["plain", "rot4-augment"])
def test_ensemble_matches_separate_fits(mnist_small, augment):
    train, val = mnist_small
    cfg = FitConfig(epochs=2, batch_size=128, lr=1e-3, weight_decay=1e-4)
    make = lambda: MLP(784, [32, 32], 10)  # noqa: E731
    seeds = [3, 7, 11]
    loop = [fit(m, train, val, cfg, seed=s, augment=augment) for m, s in zip(build_models(make, seeds), seeds)]
    ens = fit_ensemble(build_models(make, seeds), train, val, cfg, seeds=seeds, augment=augment)
    for r, m, e_score, e_epoch in zip(loop, ens.models, ens.best_score, ens.best_epoch):
        for pa, pb in zip(r.model.parameters(), m.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
        assert r.best_epoch == e_epoch and r.best_score == pytest.approx(e_score)
    # a different seed is a different model: the test above can fail
    other = fit(build_models(make, [4])[0], train, val, cfg, seed=4, augment=augment).model
    assert not torch.allclose(next(other.parameters()), next(ens.models[0].parameters()))


def test_ensemble_custom_loss_and_regression():
    """Regression with an extra term in the loss (the shape of ch1's regulariser)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    y = (x ** 2).sum(-1)
    cfg = FitConfig(epochs=3, batch_size=64, task="regression", schedule="cosine")

    def loss_fn(forward, xb, yb):
        out = forward(xb).squeeze(-1)
        return F.mse_loss(out, yb) + 0.1 * (forward(-xb).squeeze(-1) - out).pow(2).mean()

    make = lambda: MLP(4, [16], 1, activation="swish")  # noqa: E731
    loop = [fit(m, (x, y), (x, y), cfg, loss_fn=loss_fn, seed=s) for m, s in zip(build_models(make, [0, 1]), [0, 1])]
    ens = fit_ensemble(build_models(make, [0, 1]), (x, y), (x, y), cfg, seeds=[0, 1], loss_fn=loss_fn)
    for r, m in zip(loop, ens.models):
        for pa, pb in zip(r.model.parameters(), m.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    assert all(s < 0 for s in ens.best_score)  # score = minus MSE


def test_bad_config_and_inputs():
    with pytest.raises(ValueError, match="optimizer='adamw'"):
        FitConfig(optimizer="adamw")
    with pytest.raises(ValueError, match="epochs >= 1"):
        FitConfig(epochs=0)
    cfg = dataclasses.replace(FitConfig(), epochs=1)
    with pytest.raises(ValueError, match="x has 3 samples, y has 2"):
        fit(MLP(2, [], 2), (torch.zeros(3, 2), torch.zeros(2, dtype=torch.long)), None, cfg)
    bn = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="BatchNorm"):
        fit_ensemble([bn], (torch.zeros(8, 2), torch.zeros(8, dtype=torch.long)), None, cfg)
    with pytest.raises(ValueError, match="2 models but 1 seeds"):
        fit_ensemble([MLP(2, [], 2), MLP(2, [], 2)], (torch.zeros(8, 2), torch.zeros(8, dtype=torch.long)),
                     None, cfg, seeds=[0])
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        MLP(2, [4], 2, activation="elu")


def test_mlp_shapes():
    m = MLP(36 * 36, [128] * 4, 9)  # ch1's 5-layer MLP
    assert m(torch.zeros(5, 36, 36)).shape == (5, 9)
    assert m.features(torch.zeros(5, 36, 36)).shape == (5, 128)
    assert count_parameters(m) == 1296 * 128 + 128 + 3 * (128 * 128 + 128) + 128 * 9 + 9


def _weighted_loss(forward, xb, yb, lam):
    """Cross-entropy plus ``lam`` times a penalty on the logits (one weight per member)."""
    out = forward(xb)
    return F.cross_entropy(out, yb) + lam * out.pow(2).mean()


def test_member_args_sweep_a_loss_weight(mnist_small):
    """One ensemble over (weight, seed) pairs equals one fit per pair with that weight fixed."""
    train, val = mnist_small
    cfg = FitConfig(epochs=2, batch_size=200)  # 1024 = 5 x 200 + 24: a partial last batch too
    make = lambda: MLP(784, [32], 10)  # noqa: E731
    lams, seeds = [0.0, 0.5, 5.0], [1, 1, 2]
    ens = fit_ensemble(build_models(make, seeds), train, val, cfg, seeds=seeds, augment=rot4_augment,
                       loss_fn=_weighted_loss, member_args=torch.tensor(lams))
    assert ens.graph_replays == 0  # eager on the CPU
    for lam, sd, m in zip(lams, seeds, ens.models):
        fixed = lambda fwd, xb, yb, lam=lam: _weighted_loss(fwd, xb, yb, lam)  # noqa: E731
        ref = fit(build_models(make, [sd])[0], train, val, cfg, seed=sd, augment=rot4_augment, loss_fn=fixed).model
        for pa, pb in zip(ref.parameters(), m.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    # the weight matters: same seed and initial weights, different lam, different model
    assert not torch.allclose(ens.models[0][1].weight, ens.models[1][1].weight, atol=1e-3)


def test_member_args_and_graphs_bad_input():
    xy = (torch.zeros(8, 2), torch.zeros(8, dtype=torch.long))
    two = lambda: [MLP(2, [], 2), MLP(2, [], 2)]  # noqa: E731
    with pytest.raises(ValueError, match=r"one row per member \(2\), got \(3,\)"):
        fit_ensemble(two(), xy, None, FitConfig(epochs=1), loss_fn=_weighted_loss, member_args=torch.zeros(3))
    with pytest.raises(ValueError, match="member_args needs a loss_fn"):
        fit_ensemble(two(), xy, None, FitConfig(epochs=1), member_args=torch.zeros(2))
    with pytest.raises(ValueError, match="graphs=True needs a CUDA device.*device cpu"):
        fit_ensemble(two(), xy, None, FitConfig(epochs=1), graphs=True, device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize("augment", [None, rot4_augment], ids=["plain", "rot4-augment"])
def test_cuda_graph_steps_equal_eager_steps(mnist_small, augment):
    """Replayed steps train exactly like eager ones (partial last batches and member_args included)."""
    train, val = mnist_small
    cfg = FitConfig(epochs=3, batch_size=200, weight_decay=1e-4)  # 6 steps per epoch, the last partial
    make = lambda: MLP(784, [32, 32], 10)  # noqa: E731
    seeds, lams = [0, 1, 1], torch.tensor([0.0, 0.0, 1.0])
    runs = {}
    for graphs in (False, True):
        models = [m.cuda() for m in build_models(make, seeds)]
        runs[graphs] = fit_ensemble(models, train, val, cfg, seeds=seeds, augment=augment, loss_fn=_weighted_loss,
                                    member_args=lams, graphs=graphs)
    assert runs[False].graph_replays == 0 and runs[True].graph_replays == 3 * 5 - 3  # full batches after warm-up
    for a, b in zip(runs[False].models, runs[True].models):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.tensor(runs[False].history["train_loss"]),
                               torch.tensor(runs[True].history["train_loss"]), rtol=1e-4, atol=1e-6)
    assert runs[True].best_epoch == runs[False].best_epoch


def test_fit_graphs_need_cuda():
    xy = (torch.zeros(8, 2), torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match="graphs=True needs a CUDA device; got device cpu"):
        fit(MLP(2, [], 2), xy, None, FitConfig(epochs=1), graphs=True, device="cpu")
    assert fit(MLP(2, [], 2), xy, None, FitConfig(epochs=1)).graph_replays == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_cuda_graph_steps_equal_eager_steps(mnist_small, optimizer):
    """fit's replayed steps train a BatchNorm CNN like eager ones, across lr drops (graphs recorded anew)."""
    train, val = mnist_small
    train = (train[0].view(-1, 1, 28, 28), train[1])
    val = (val[0].view(-1, 1, 28, 28), val[1])
    cfg = FitConfig(epochs=4, batch_size=200, lr=0.05 if optimizer == "sgd" else 1e-3, optimizer=optimizer,
                    momentum=0.9, weight_decay=1e-4, schedule="step", milestones=(1, 3), gamma=0.1)
    torch.backends.cudnn.deterministic = True
    runs = {}
    try:
        for graphs in (False, True):
            torch.manual_seed(0)
            model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).cuda()
            runs[graphs] = fit(model, train, val, cfg, seed=0, graphs=graphs)
    finally:
        torch.backends.cudnn.deterministic = False
    steps = len(train[0]) // 200  # full batches per epoch
    # warm-up: 3 eager steps, then 1 after each of the two lr drops (epochs 1 and 3)
    assert runs[False].graph_replays == 0 and runs[True].graph_replays == 4 * steps - 3 - 2
    a, b = runs[False].model, runs[True].model
    for (name, ta), tb in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(ta.float(), tb.float(), rtol=1e-4, atol=1e-5, msg=name)
    torch.testing.assert_close(torch.tensor(runs[False].history["train_loss"]),
                               torch.tensor(runs[True].history["train_loss"]), rtol=1e-4, atol=1e-6)
    assert runs[True].best_epoch == runs[False].best_epoch


def test_bf16_mixed_precision_trains_in_float32_weights_and_learns_like_fp32():
    """``FitConfig(precision="bf16")``: the step runs under autocast (bfloat16 convolutions), the weights, the
    optimiser state and the selected model stay float32, and it learns what the float32 run learns on an easy task;
    a precision that is not offered is refused by name."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(256, 1, 8, 8, generator=gen)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long()  # top half brighter than the bottom

    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                             nn.Linear(8 * 64, 2))

    runs = {}
    for precision in ("fp32", "bf16"):
        cfg = FitConfig(epochs=15, batch_size=32, lr=3e-3, precision=precision)
        runs[precision] = fit(net(), (x[:192], y[:192]), (x[192:], y[192:]), cfg, seed=0)
    m = runs["bf16"].model
    assert all(p.dtype == torch.float32 for p in m.parameters()) and predict(m, x[:4]).dtype == torch.float32
    assert runs["fp32"].best_score > 0.9 and runs["bf16"].best_score > 0.9
    assert runs["bf16"].history["train_loss"] != runs["fp32"].history["train_loss"], "bf16 ran in float32"
    with pytest.raises(ValueError, match=r"FitConfig.precision='fp16'; valid: \['fp32', 'bf16'\]"):
        FitConfig(precision="fp16")


def test_bf16_mixed_precision_in_the_vmapped_ensemble():
    """``fit_ensemble`` honours ``precision`` too: its members' step runs under autocast inside vmap, its weights stay
    float32, and it learns the easy task."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(256, 16, generator=gen)
    y = (x[:, :8].sum(1) > x[:, 8:].sum(1)).long()
    cfg = FitConfig(epochs=15, batch_size=32, lr=3e-3, precision="bf16")
    res = fit_ensemble(build_models(lambda: MLP(16, [32], 2), (0, 1)), (x[:192], y[:192]), (x[192:], y[192:]), cfg)
    assert min(res.best_score) > 0.85 and all(p.dtype == torch.float32 for m in res.models for p in m.parameters())
    fp32 = fit_ensemble(build_models(lambda: MLP(16, [32], 2), (0, 1)), (x[:192], y[:192]), (x[192:], y[192:]),
                        dataclasses.replace(cfg, precision="fp32"))
    assert fp32.history["train_loss"] != res.history["train_loss"], "bf16 ran in float32"
