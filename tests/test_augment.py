"""helpers.augment with known answers: every augmented sample lies in its orbit, a seed fixes the draw, and a
random rotation turns each image by its own angle."""
import math

import pytest
import torch

from helpers.augment import act_each, group_action, random_rotation
from helpers.groups import ROT4, TRANS3
from helpers.transforms import rotate


@pytest.mark.parametrize("group", [ROT4, TRANS3])
def test_group_action_gives_an_orbit_member_per_sample(group):
    x = torch.randn(64, 9, 9)
    out = group_action(group)(x, torch.Generator().manual_seed(0))
    orbit = group.orbit(x)  # (G, B, H, W)
    hit = (orbit == out).flatten(2).all(-1)  # (G, B): which element each sample got
    assert (hit.sum(0) == 1).all(), "each output is exactly one transformed copy of its own input"
    assert len(hit.int().argmax(0).unique()) == group.order, "64 draws use every element"
    again = group_action(group)(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_act_each_applies_each_sample_its_element_and_checks_lengths():
    x = torch.randn(4, 1, 6, 6)
    g = torch.tensor([0, 1, 2, 3])
    out = act_each(x, g, ROT4)
    for b in range(4):
        assert torch.equal(out[b], torch.rot90(x[b], b, dims=(-2, -1)))
    with pytest.raises(ValueError, match="4 samples, 3 elements"):
        act_each(x, g[:3], ROT4)


def test_random_rotation_turns_each_image_by_its_own_drawn_angle():
    x = torch.rand(8, 1, 16, 16)
    out = random_rotation(x, torch.Generator().manual_seed(3))
    angles = torch.rand(8, generator=torch.Generator().manual_seed(3)) * 2 * math.pi
    assert torch.allclose(out, rotate(x, angles))
    assert not torch.allclose(out, x, atol=1e-3)
