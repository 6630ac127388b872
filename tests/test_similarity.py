"""Known answers of the feature in/equivariance measure (ch3, eqs. 4 and 7)."""
import pytest
import torch

from helpers.experiments import ch3
from helpers.metrics import feature_similarity, in_equivariance, partition, similarity_matrix


def _maps(seed=0, shape=(5, 3, 8, 8)):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_identical_maps_give_one():
    a = _maps()
    for kind in ("correlation", "cosine"):
        s = feature_similarity(a, a, kind)
        assert s.shape == (5, 3)
        assert torch.allclose(s, torch.ones_like(s))


def test_shifted_map_compared_after_inverse_shift_gives_one():
    a = _maps()
    moved = torch.roll(a, (2, 3), dims=(-2, -1))
    back = torch.roll(moved, (-2, -3), dims=(-2, -1))
    assert torch.allclose(feature_similarity(back, a), torch.ones(5, 3, dtype=torch.float64))
    assert feature_similarity(moved, a).mean() < 0.5  # without the inverse shift they differ


def test_correlation_ignores_offset_and_scale_cosine_does_not():
    a, b = _maps(0), _maps(1)
    c0 = feature_similarity(a, b, "correlation")
    assert torch.allclose(feature_similarity(3 * a + 5, b - 2, "correlation"), c0, atol=1e-10)
    cos0 = feature_similarity(a, b, "cosine")
    assert not torch.allclose(feature_similarity(a + 5, b + 5, "cosine"), cos0, atol=1e-2)
    assert torch.allclose(feature_similarity(3 * a, b, "cosine"), cos0, atol=1e-10)  # cosine is scale-invariant only


def test_bad_kind_and_shapes_raise():
    a = _maps()
    with pytest.raises(ValueError, match="euclid.*correlation"):
        feature_similarity(a, a, kind="euclid")
    with pytest.raises(ValueError, match="shape"):
        feature_similarity(a, a[..., :4])
    with pytest.raises(ValueError, match="maps"):
        in_equivariance(a[0, 0, 0], a[0, 0, 0])


def test_matrix_matches_pairwise_and_equivariance_at_least_invariance():
    a, b = _maps(2).flatten(2), _maps(3).flatten(2)  # (5, 3, 64)
    R = similarity_matrix(a, b)  # (5, 3, 3)
    A = a[:, :, None].unflatten(-1, (8, 8)).expand(5, 3, 3, 8, 8)  # A[:, c, c'] = a[:, c]
    B = b[:, None].unflatten(-1, (8, 8)).expand(5, 3, 3, 8, 8)  # B[:, c, c'] = b[:, c']
    ref = feature_similarity(A, B)  # (5, 3, 3)
    assert torch.allclose(R, ref, atol=1e-10)
    for seed in range(5):
        ft, tf = _maps(seed), _maps(seed + 10)
        inv, eqv = in_equivariance(ft, tf)
        assert eqv >= inv
        inv, eqv = in_equivariance(ft.mean((2, 3)), tf.mean((2, 3)))  # pooled vectors
        assert eqv >= inv


def test_channel_permutation_is_equivariant_not_invariant():
    a = _maps()
    perm = a[:, [1, 2, 0]]
    inv, eqv = in_equivariance(perm, a)  # eq. 7 over the set: one c' for every image (the default)
    assert eqv == pytest.approx(1.0) and inv < 0.5
    assert in_equivariance(perm, a, matching="sample") == pytest.approx((inv, 1.0))  # c' per image agrees here


def test_shared_matching_removes_the_chance_floor_of_the_per_image_max():
    """Unrelated maps: the per-image max over 64 channels of 8x8 maps sits near sqrt(2 ln 64 / 64) = 0.36,
    the max of the image-averaged correlation near 0; invariance <= shared <= per-image equivariance."""
    g = torch.Generator().manual_seed(0)
    ft, tf = torch.randn(200, 64, 8, 8, generator=g), torch.randn(200, 64, 8, 8, generator=g)
    inv, eqv = in_equivariance(ft, tf, matching="sample")
    _, shared = in_equivariance(ft, tf)  # the default: eq. 7's c' shared over the set
    assert abs(inv) < 0.02 and 0.25 < eqv < 0.45 and shared < 0.1
    assert inv <= shared <= eqv
    big = torch.randn(200, 64, 32, 32, generator=g)  # more pixels per map: a lower floor
    assert in_equivariance(big, torch.randn(200, 64, 32, 32, generator=g), matching="sample")[1] < 0.15
    with pytest.raises(ValueError, match="matching 'best'"):
        in_equivariance(ft, tf, matching="best")
    v = ft.mean((2, 3))  # pooled vectors are compared across images already: both matchings agree
    assert in_equivariance(v, v.flip(0)) == in_equivariance(v, v.flip(0), matching="shared")



class _RotatedBank(torch.nn.Module):
    """Three conv layers whose 4 channels are the 4 quarter-turn rotations of one random filter per layer (the
    first from 1 input channel, the next two depthwise), ReLU between, then GAP and a linear head: rotating the input
    by 90° rotates every map and moves channel k to k + 1 (a known permutation of the channels under the group)."""

    def __init__(self, seed: int = 0, size: int = 5):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = torch.nn.ModuleList()
        for i in range(3):
            w = torch.randn(size, size, generator=g)
            conv = torch.nn.Conv2d(1 if i == 0 else 4, 4, size, padding=size // 2, bias=False, groups=1 if i == 0 else 4)
            with torch.no_grad():
                conv.weight.copy_(torch.stack([torch.rot90(w, k) for k in range(4)])[:, None])
            self.convs.append(torch.nn.Sequential(conv, torch.nn.ReLU()))
        self.pool, self.head = torch.nn.Flatten(), torch.nn.Linear(4, 3)

    def forward(self, x):
        for c in self.convs:
            x = c(x)
        return self.head(self.pool(x.mean((-2, -1))))

    def layers(self):
        return {"conv1": self.convs[0], "conv2": self.convs[1], "conv3": self.convs[2], "pool": self.pool,
                "final": self.head}


def test_channels_permuted_by_the_group_are_equivariant_under_the_shared_reading():
    """Known answer: a network whose channels the rotations permute has eq. 7 equivariance 1 with one c' shared by
    all images of X, in every spatial layer and after pooling, while its invariance (c' = c) is below 1."""
    from helpers.metrics import layer_in_equivariance

    net = _RotatedBank().eval()
    x = torch.rand(12, 1, 17, 17, generator=torch.Generator().manual_seed(1))  # odd size: rot90 maps pixels exactly
    rots = [ch3.rotation(k) for k in (1, 2, 3)]
    r = layer_in_equivariance(net, net.layers(), x, rots)
    assert r["equivariance_shared"][:4].min() > 1 - 1e-6  # conv1-3 and pool
    assert r["invariance"][:3].max() < 0.9 and r["invariance"][3] < 0.99
    assert (r["equivariance"] >= r["equivariance_shared"] - 1e-9).all()  # the per-image max is never below
    # without the permutation (one channel's filter changed) the shared reading drops below 1
    with torch.no_grad():
        net.convs[0][0].weight[1] = torch.randn(1, 5, 5, generator=torch.Generator().manual_seed(2))
    assert layer_in_equivariance(net, net.layers(), x, rots)["equivariance_shared"][0] < 0.99


def test_per_image_floor_exceeds_the_shared_one_on_a_random_network():
    """Random features: a ResNet at its random initialisation, measured on random images under rotation (which it
    does not commute with). The per-image max over 64 channels of 8x8 maps has a chance floor far above the shared
    reading's in the Late part; the shared reading stays near the invariance there."""
    torch.manual_seed(0)
    net = ch3.CifarResNet(1).eval()
    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    r = ch3.measure(net, x, [ch3.rotation(1)])
    late_sample, late_shared = r["equivariance_parts"][2], r["equivariance_shared_parts"][2]
    assert late_sample - late_shared > 0.15, (late_sample, late_shared)
    assert late_shared - r["invariance_parts"][2] < late_sample - late_shared

def _mnist(n=8):
    from helpers import data
    x, _ = data.load("mnist", train=False)
    return data.to_unit(x[:n])[:, None]


def test_gaussian_cnn_is_rotation_invariant(need_data):
    need_data("mnist")
    r = ch3.measure(ch3.toy_cnns()["invariant"], _mnist(), [ch3.rotation(k) for k in (1, 2, 3)])
    assert r["invariance"].min() > 1 - 1e-5 and r["equivariance"].min() > 1 - 1e-5


def test_cut_corner_cnn_is_equivariant_not_invariant(need_data):
    need_data("mnist")
    r = ch3.measure(ch3.toy_cnns()["equivariant"], _mnist(), [ch3.rotation(k) for k in (1, 2, 3)])
    assert r["equivariance"].min() > 1 - 1e-5 and r["equivariance_shared"].min() > 1 - 1e-5
    assert r["invariance_parts"][:3].max() < 0.95  # the spatial layers are not invariant


def test_random_cnn_fails_both(need_data):
    need_data("mnist")
    r = ch3.measure(ch3.toy_cnns(seed=1)["random"], _mnist(), [ch3.rotation(k) for k in (1, 2, 3)])
    assert r["invariance_parts"][:3].max() < 0.9 and r["equivariance_parts"][:3].max() < 0.9
    assert r["equivariance_shared_parts"][:3].max() < 0.9


def test_partition_is_uniform_and_checks_input():
    names = [f"l{i}" for i in range(7)] + ["pool", "final"]
    p = partition(names, [True] * 7 + [False] * 2)
    assert [len(p[k]) for k in ("Early", "Middle", "Late")] == [3, 2, 2]
    assert p["Pool"] == ["pool"] and p["Final"] == ["final"]
    with pytest.raises(ValueError, match="Pool, Final"):
        partition(names, [True] * 9)


def test_chunked_matrix_gives_the_same_answer():
    ft, tf = _maps(4, (7, 6, 5, 5)), _maps(5, (7, 6, 5, 5))
    assert in_equivariance(ft, tf, max_entries=40) == pytest.approx(in_equivariance(ft, tf), abs=1e-12)


def test_streamed_layers_equal_the_measure_of_all_images_at_once():
    """layer_in_equivariance streams image batches on the device; the answer is the definition on all images."""
    from helpers.metrics import capture, layer_in_equivariance
    torch.manual_seed(0)
    m = ch3.CifarResNet(1, 2).eval()
    layers, x = m.layers(), torch.rand(11, 3, 32, 32)
    ts = [ch3.diagonal_shift(4), ch3.diagonal_shift(8)]
    base = capture(m, layers, x)
    want = {key: [] for key in ("invariance", "equivariance", "equivariance_shared")}
    for k in layers:
        per_t = []
        for t in ts:
            moved = capture(m, {k: layers[k]}, t(x, 32))[k]
            tf = t(base[k], 32) if base[k].ndim == 4 else base[k]
            per_t.append((*in_equivariance(moved, tf, matching="sample"), in_equivariance(moved, tf)[1]))
        for key, col in zip(want, zip(*per_t)):
            want[key].append(sum(col) / len(ts))
    for bs in (11, 4):
        r = layer_in_equivariance(m, layers, x, ts, batch_size=bs)
        for key in want:
            # float32 maps summed in another order per batch size: scores in [0, 1] agree to float32 rounding
            # of sums over ~1e4 entries (~1e-7 seen), not bit for bit
            assert r[key] == pytest.approx(want[key], abs=1e-5), (bs, key)
        assert r["magnitude"] == pytest.approx([float(base[k].abs().mean()) for k in layers], rel=1e-5)
    with pytest.raises(ValueError, match="images"):
        layer_in_equivariance(m, layers, x[0], ts)
    with pytest.raises(ValueError, match="similarity"):
        layer_in_equivariance(m, layers, x, ts, kind="dot")
    with pytest.raises(ValueError, match="transforms is empty"):
        layer_in_equivariance(m, layers, x, [])
    with pytest.raises(ValueError, match="x is on meta but the model on cpu"):
        layer_in_equivariance(m, layers, x.to("meta"), ts)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_measure_on_the_gpu_equals_the_cpu():
    """The streamed measure keeps maps on the model's device; on a GPU it gives the CPU's numbers."""
    from helpers.metrics import layer_in_equivariance
    torch.manual_seed(0)
    m, x = ch3.CifarResNet(1, 2).eval(), torch.rand(20, 3, 32, 32)
    ts = [ch3.diagonal_shift(4), ch3.rotation(1)]
    cpu = layer_in_equivariance(m, m.layers(), x, ts, batch_size=8)
    torch.backends.cudnn.allow_tf32 = False  # float32 convolutions, as on the CPU
    try:
        gpu = layer_in_equivariance(m.cuda(), m.layers(), x.cuda(), ts, batch_size=8)
    finally:
        torch.backends.cudnn.allow_tf32 = True
    for key in ("invariance", "equivariance", "equivariance_shared", "magnitude"):
        assert gpu[key] == pytest.approx(cpu[key], abs=1e-4), key
