"""ch1 metrics with known answers: a weight-tied (group-pooled) model has LI = DI = 0 and SI = 1; a plain
MLP fails each; sigma_max of a linear model's Jacobian is its spectral norm."""
import pytest
import torch

from helpers import data
from helpers.groups import ROT4, TRANS3
from helpers.metrics import (distribution_invariance, invariance_penalty, jacobian_sigma_max, logit_invariance,
                             orbit_logits, saliency_invariance, saliency_map)
from helpers.models import MLP, GroupPooledMLP
from helpers.training import FitConfig, fit_ensemble


@pytest.fixture
def digits(need_data):
    need_data("mnist")
    x, y = data.load("mnist", train=False)
    x = data.standardize(data.pad_to(data.to_unit(x[:24]), 36))[0].double()  # (24, 36, 36)
    return x, y[:24]


@pytest.mark.parametrize("group", [ROT4, TRANS3], ids=["R4", "T3"])
def test_weight_tied_model_is_exactly_invariant(digits, group):
    x, y = digits
    torch.manual_seed(0)
    wt = GroupPooledMLP(group, 36 * 36, [32, 32], 9).double()
    assert logit_invariance(wt, x, group) < 1e-12
    assert distribution_invariance(wt, x, group) < 1e-12
    assert saliency_invariance(wt, x[:8], group, y[:8] % 9, n_steps=8) > 1 - 1e-9


@pytest.mark.parametrize("group", [ROT4, TRANS3], ids=["R4", "T3"])
def test_plain_mlp_fails_each_metric(digits, group):
    x, _ = digits
    torch.manual_seed(0)
    mlp = MLP(36 * 36, [32, 32], 9).double()
    assert logit_invariance(mlp, x, group) > 1e-4
    assert distribution_invariance(mlp, x, group) > 1e-6
    assert saliency_invariance(mlp, x[:8], group, n_steps=8) < 0.9


def test_metrics_average_over_non_identity_elements(digits):
    x, _ = digits
    torch.manual_seed(1)
    mlp = MLP(36 * 36, [16], 9).double()
    z = torch.stack([mlp(ROT4.act(x, g)) for g in range(4)])  # (4, B, K), the slow way
    li = sum(0.5 * (z[g] - z[0]).pow(2).sum(-1).mean() for g in (1, 2, 3)) / 3
    assert torch.isclose(torch.tensor(logit_invariance(mlp, x, ROT4), dtype=torch.float64), li)
    assert torch.allclose(orbit_logits(mlp, x, ROT4), z.detach())


def test_saliency_map_keeps_top_values_and_is_smoothed(digits):
    x, y = digits
    torch.manual_seed(0)
    m = saliency_map(MLP(36 * 36, [16], 9).double(), x[:4], y[:4] % 9, n_steps=8)
    assert m.shape == (4, 36, 36) and (m >= 0).all()
    assert ((m > 0).flatten(1).float().mean(1) < 0.2).all()  # thresholded at 0.9 max, then a 3x3 blur


def test_sigma_max_of_linear_model_is_spectral_norm():
    torch.manual_seed(0)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5)).double()
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    assert abs(jacobian_sigma_max(lin, x) - torch.linalg.matrix_norm(lin[1].weight, ord=2).item()) < 1e-10


def test_sigma_max_of_a_relu_mlp_matches_per_sample_svd():
    """Per sample the Jacobian differs; the Gram-matrix route gives each one's spectral norm."""
    torch.manual_seed(1)
    mlp = MLP(12, [16, 16], 5).double()
    x = torch.randn(6, 3, 4, dtype=torch.float64)
    ref = [torch.linalg.matrix_norm(torch.autograd.functional.jacobian(lambda v: mlp(v[None])[0], xi).flatten(1),
                                    ord=2) for xi in x]  # (K, D) each
    assert len({round(r.item(), 6) for r in ref}) > 1  # the samples' norms differ: a real average
    assert abs(jacobian_sigma_max(mlp, x, chunk_size=4) - torch.stack(ref).mean().item()) < 1e-10


def test_bad_inputs_are_named():
    mlp = MLP(16, [4], 3)
    with pytest.raises(TypeError, match="group"):
        logit_invariance(mlp, torch.zeros(2, 4, 4), "rot4")
    with pytest.raises(ValueError, match="images"):
        logit_invariance(mlp, torch.zeros(2, 16), ROT4)
    with pytest.raises(ValueError, match="hidden"):
        GroupPooledMLP(ROT4, 16, [], 3)


def test_weight_tied_model_trains_as_an_ensemble(digits):
    x, y = digits
    models = [GroupPooledMLP(ROT4, 36 * 36, [16, 16], 9).double() for _ in range(2)]
    res = fit_ensemble(models, (x, y % 9), None, FitConfig(epochs=1, batch_size=8), seeds=[0, 1])
    assert len(res.models) == 2 and logit_invariance(res.models[0], x, ROT4) < 1e-12


def test_bad_input_is_named_not_measured():
    """Empty batches, NaN or inf inputs and mismatched shapes raise errors naming the argument, for every
    measure that feeds a claim (before: a NaN pixel gave a finite SI and sigma_max, mismatched maps a score)."""
    from helpers.metrics import (in_equivariance, jacobian_sigma_max, polarization_matrix,
                                 polarization_matrix_image, saliency_invariance)

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3))
    x = torch.rand(4, 6, 6)
    bad = x.clone()
    bad[1, 2, 3] = float("nan")
    for fn in (logit_invariance, distribution_invariance):
        with pytest.raises(ValueError, match=r"x of shape \(4, 6, 6\) holds 1 NaN or infinite"):
            fn(model, bad, ROT4)
        with pytest.raises(ValueError, match=r"x must hold at least 1 sample\(s\), got shape \(0, 6, 6\)"):
            fn(model, x[:0], ROT4)
    with pytest.raises(ValueError, match="holds 1 NaN"):
        saliency_invariance(model, bad, ROT4, n_steps=2)
    with pytest.raises(ValueError, match="holds 1 NaN"):
        jacobian_sigma_max(model, bad)
    inf = x.clone()
    inf[0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"images of shape \(4, 6, 6\) holds 1 NaN or infinite"):
        polarization_matrix_image(model, inf)
    with pytest.raises(ValueError, match="x of shape"):
        polarization_matrix(lambda v: v.sum(1), torch.tensor([[1.0, float("nan")]]))
    a, b = torch.rand(5, 2, 8, 8), torch.rand(4, 2, 8, 8)
    with pytest.raises(ValueError, match=r"ft and tf must have one shape, got \(5, 2, 8, 8\) and \(4, 2, 8, 8\)"):
        in_equivariance(a, b, max_entries=4)  # chunked: before, the extra image was dropped silently
    with pytest.raises(ValueError, match=r"ft and tf must have one shape"):
        in_equivariance(torch.rand(8, 8, 1, 1).view(8, 8), torch.rand(4, 16))
    with pytest.raises(ValueError, match=r"ft must hold at least 2 sample"):
        in_equivariance(torch.rand(1, 3), torch.rand(1, 3))  # pooled vectors are compared along samples


def test_normalised_l2_penalty_known_answers():
    """Sec. 4.4's third regulariser, ||f(x) - f(gx)||^2 / ||f(x)||^2: 0 for equal orbit logits, 1 where every
    f(gx) = 2 f(x), 4 where f(gx) = -f(x); the L2 and KL kinds of the same counterexample are > 0 too."""
    z0 = torch.randn(5, 3)
    same = torch.stack([z0] * 4)  # (G, B, K)
    assert float(invariance_penalty(same, "l2_normalized")) == 0.0
    doubled = torch.stack([z0, 2 * z0, 2 * z0, 2 * z0])
    assert float(invariance_penalty(doubled, "l2_normalized")) == pytest.approx(1.0)
    flipped = torch.stack([z0, -z0, -z0, -z0])
    assert float(invariance_penalty(flipped, "l2_normalized")) == pytest.approx(4.0)
    assert float(invariance_penalty(flipped, "l2")) > 0 and float(invariance_penalty(flipped, "kl")) > 0


class _Constant(torch.nn.Module):
    """Ignores its input: the same logits for every image (a collapsed network, e.g. normalised L2 at large ν)."""

    def __init__(self):
        super().__init__()
        self.b = torch.nn.Parameter(torch.arange(9, dtype=torch.float64))

    def forward(self, x):
        return self.b.expand(x.shape[0], -1) + 0 * x.reshape(x.shape[0], -1)[:, :1]


def test_a_constant_model_is_invariant_but_has_no_saliency(digits):
    """LI = DI = 0 is right for a model that ignores its input (it *is* invariant); what betrays it is SI, which
    compares saliency maps that are all zero: SI = 0, far from a genuinely invariant model's 1."""
    x, y = digits
    const = _Constant()
    assert logit_invariance(const, x, ROT4) == 0 and distribution_invariance(const, x, ROT4) == 0
    assert saliency_invariance(const, x[:8], ROT4, y[:8] % 9, n_steps=8) < 1e-9
