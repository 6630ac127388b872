"""The marginal-likelihood probe (``helpers.metrics.marginal``): known answers on models whose response to rotation
is known, and errors naming the bad value."""
import math

import pytest
import torch

from helpers.metrics import orbit_log_likelihood, preferred_rotation

ETAS = [math.radians(d) for d in (0, 30, 60, 90, 180)]


def _images():
    """A vertical bar and a centred Gaussian blob, ``(2, 28, 28)`` float64, background 0."""
    p = torch.arange(28, dtype=torch.float64) - 13.5  # pixel centres about the image centre
    r, c = torch.meshgrid(p, p, indexing="ij")  # (28, 28) each
    bar = torch.exp(-(c / 1.5) ** 2 - (r / 9.0) ** 4)
    blob = torch.exp(-(r**2 + c**2) / 30.0)
    return torch.stack([bar, blob])


class Template(torch.nn.Module):
    """Logits ``k * [<x, t>, 0]``: class 0 where the input overlaps the template ``t``."""

    def __init__(self, t, k=1.0):
        super().__init__()
        self.t, self.k = t, k

    def forward(self, x):
        s = (x * self.t).flatten(1).sum(1)  # (B,)
        return self.k * torch.stack([s, torch.zeros_like(s)], 1)  # (B, 2)


def test_rotation_hurts_a_template_model_and_not_a_radial_one():
    x = _images()
    bar, blob = x[:1], x[1:]
    y = torch.zeros(1, dtype=torch.long)
    ll = orbit_log_likelihood(Template(bar[0], 0.02), bar, y, ETAS)
    assert torch.all(ll[1:4] < ll[:3])   # wider intervals lose likelihood up to 90 degrees (the bar is 180-periodic)
    assert preferred_rotation(Template(bar[0], 0.02), bar, y, ETAS)["eta"] == 0.0
    flat = orbit_log_likelihood(Template(blob[0], 0.02), blob, y, ETAS)
    assert torch.all((flat - flat[0]).abs() < 2e-3)  # the radial model is invariant (up to interpolation): L is flat
    assert torch.all((ll[1:] - ll[0]).abs() > 10 * (flat[1:] - flat[0]).abs())


def test_a_model_that_is_right_only_on_average_prefers_the_wide_interval():
    """Class 0 scores the bar turned by +/-90 degrees minus the upright bar: an upright bar is misclassified, but
    averaged over every rotation the turned bar wins: the probe prefers a wide interval."""
    x = _images()
    bar = x[:1]
    turned = torch.rot90(bar[0], 1, (0, 1))
    model = Template(turned - 0.5 * bar[0], 0.5)
    r = preferred_rotation(model, bar, torch.zeros(1, dtype=torch.long), ETAS, points=33)
    assert r["eta"] >= math.radians(90) and r["gain"] > 0


def test_one_point_or_a_constant_model_give_a_flat_likelihood():
    x = _images()
    y = torch.tensor([0, 1])
    ll = orbit_log_likelihood(Template(x[0]), x, y, ETAS, points=1)  # S = 1: the grid is {0}
    assert torch.allclose(ll, ll[0].expand_as(ll))
    const = lambda z: torch.zeros(len(z), 2, dtype=z.dtype)  # noqa: E731
    r = preferred_rotation(const, x, y, ETAS)
    assert r["eta"] == 0.0 and r["gain"] == 0.0 and r["log_lik"][0] == pytest.approx(-math.log(2))


@pytest.mark.parametrize("kwargs, match", [({"etas": [-0.1]}, "etas must be"), ({"etas": []}, "etas must be"),
                                           ({"points": 0}, "points must be >= 1")])
def test_bad_input_names_the_value(kwargs, match):
    x = _images()
    args = {"etas": ETAS, "points": 4} | kwargs
    with pytest.raises(ValueError, match=match):
        orbit_log_likelihood(Template(x[0]), x, torch.tensor([0, 1]), **args)
    with pytest.raises(ValueError, match="one non-zero length, got 2 and 1"):
        orbit_log_likelihood(Template(x[0]), x, torch.tensor([0]), ETAS)
