"""Invariant weights learned by a lower bound on the marginal likelihood (ch2, van der Ouderaa & van der Wilk 2022).

A shallow network ``g(x) = softmax(W2 phi(W1 x))`` is made (softly) invariant by averaging it over
transformations drawn from a learnable distribution ``p_eta(T)`` (eq. 1), estimated with S samples:

    f_hat(x; eta) = 1/S sum_i g(T_i(x)),     T_i ~ p_eta(T)                          (eq. 6)

The transformations act on the *weights*: each row of ``W1`` is an image, and
``(W1 o T) o x = W1 o (T o x)`` (Sec. 3.2), so the warp of the weights replaces the warp of the
input. Training computes the same pre-activations with the adjoint warp of the *inputs*
(``warps.warp_inputs``: ``<A_T w, x> = <w, A_T^T x>``). A sample is drawn with the Lie-group reparameterisation of the affine group (eq. 3 / eq. 10):

    T = exp( sum_i eps_i eta_i G_i ),   eps ~ U[-1, 1]^6                               (eq. 3)

(``helpers.groups.affine_matrices``; deterministic sampling replaces the noise by a linspace grid,
Sec. 3.4). ``eta`` and the variational posterior over ``W2`` (``variational`` beside this module) are
trained by maximising the ELBO

    L = E_q(theta) E_T [ log p(y | f_hat(x; eta)) ] - KL(q(theta) || p(theta))         (eq. 9)

Two networks (Sec. 3.1, 4.4): ``"rff"`` (fixed random Fourier ``W1``, cos non-linearity) and
``"relu"`` (learned Xavier-initialised ``W1``, ReLU). ``InvariantNet`` holds ``M`` members at once
(a sweep over fixed / learned eta, or over invariance types), trained as one model: every tensor
carries a leading ``M`` axis.

Warp convention: ``helpers.transforms.affine_warp`` (``out(p) = w(T p)`` in normalized coordinates).
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import vmap

from ...groups import affine_matrices
from . import fast_step
from .variational import ClassGaussian
from .warps import blur_is_identity, filter_gain, transform_weights, warp_inputs

__all__ = ["INVARIANCES", "invariance_mask", "uniform_eps", "linspace_eps", "transformation_matrices", "InvariantNet"]

#: Which of the six generators (order of ``helpers.groups.AFFINE_NAMES``) each invariance learns (App. E).
INVARIANCES: dict[str, tuple[int, ...]] = {
    "none": (),
    "rotation": (2,),
    "translation": (0, 1),
    "scale": (3, 4),
    "affine": (0, 1, 2, 3, 4, 5),
}


def invariance_mask(name: str) -> Tensor:
    """``(6,)`` float mask of the generators an invariance type learns (App. E), e.g. rotation -> e_3."""
    if name not in INVARIANCES:
        raise ValueError(f"unknown invariance {name!r}; valid: {list(INVARIANCES)}")
    mask = torch.zeros(6)
    mask[list(INVARIANCES[name])] = 1.0
    return mask


def uniform_eps(members: int, samples: int, generator: torch.Generator | None = None,
                device: torch.device | str | None = None) -> Tensor:
    """Monte Carlo noise ``eps ~ U[-1, 1]^6`` (eq. 3).

    Returns:
        ``(M, S, 6)``.
    """
    if members < 1 or samples < 1:
        raise ValueError(f"members and samples must be >= 1, got {members}, {samples}")
    u = torch.rand(members, samples, 6, generator=generator)  # (M, S, 6), drawn on the generator's device
    return (2 * u - 1).to(device)  # (M, S, 6)


def linspace_eps(points: int, dims: tuple[int, ...] = (2,), endpoint: bool = True) -> Tensor:
    """Deterministic noise (Sec. 3.4): a product grid of ``points`` per generator in ``dims``.

    Args:
        points: grid points per generator, >= 1.
        dims: the generators that vary (others are 0), e.g. ``(2,)`` for rotation.
        endpoint: include ``+1``; with ``False`` the grid is ``-1 + 2k/points`` (a periodic grid:
            with eta_rot = pi it is the cyclic group of ``points`` rotations).

    Returns:
        ``(points ** len(dims), 6)`` (S = points ** len(dims)).
    """
    if points < 1:
        raise ValueError(f"points must be >= 1, got {points}")
    if not dims or any(d not in range(6) for d in dims) or len(set(dims)) != len(dims):
        raise ValueError(f"dims must be distinct generator indices in 0..5, got {dims}")
    if endpoint:
        axis = torch.linspace(-1.0, 1.0, points) if points > 1 else torch.zeros(1)
    else:
        axis = -1.0 + 2.0 * torch.arange(points) / points  # (points,)
    grid = torch.cartesian_prod(*[axis] * len(dims)).reshape(-1, len(dims))  # (S, k)
    eps = torch.zeros(grid.shape[0], 6)
    eps[:, list(dims)] = grid
    return eps  # (S, 6)


def transformation_matrices(eta: Tensor, eps: Tensor) -> Tensor:
    """``T = exp(sum_i eps_i eta_i G_i)`` for every member and sample (eq. 3), differentiable in eta.

    Args:
        eta: ``(M, 6)`` invariance parameters.
        eps: ``(M, S, 6)`` noise, or ``(S, 6)`` shared by the members.

    Returns:
        ``(M, S, 3, 3)``.
    """
    if eta.ndim != 2 or eta.shape[-1] != 6:
        raise ValueError(f"eta must be (M, 6), got shape {tuple(eta.shape)}")
    if eps.ndim == 2:
        eps = eps.to(eta).expand(eta.shape[0], *eps.shape)  # (M, S, 6)
    if eps.ndim != 3 or eps.shape[0] != eta.shape[0] or eps.shape[-1] != 6:
        raise ValueError(f"eps must be (S, 6) or (M={eta.shape[0]}, S, 6), got shape {tuple(eps.shape)}")
    return vmap(affine_matrices)(eps.to(eta), eta)  # (M, S, 3, 3)


class InvariantNet(nn.Module):
    """``M`` shallow networks with learnable weight-space invariance and a Gaussian posterior over W2.

    Member m computes ``log f_hat(x)`` of eq. (6) with its own ``eta[m]`` (learned where
    ``learn[m, i]`` is 1, fixed at its initial value elsewhere) and its own posterior over W2;
    ``bayes[m] = 0`` turns it into the maximum-likelihood variant of Sec. 4.1 (point estimate
    ``W2 = mu``, no KL term).

    Args:
        kind: ``"rff"`` (fixed ``W1 ~ N(0, sigma^2)``, phases ``b ~ U[0, 2 pi]``, cos) or ``"relu"``
            (learned Xavier-uniform ``W1``, zero bias, ReLU; one ``W1`` per member).
        image_shape: ``(C, H, W)`` of the inputs.
        hidden: D, the number of hidden features.
        classes: K.
        eta_init: ``(M, 6)`` initial invariance parameters (radians for rotation, normalized
            coordinates for translation, log-scale for scale).
        learn: ``(M, 6)`` 1 where eta is learned, 0 where fixed.
        bayes: ``(M,)`` 1 for variational inference (eq. 9), 0 for maximum likelihood.
        sigma: standard deviation of the random Fourier frequencies (Sec. 4: 0.3; 5 in the toy).
        alpha: prior variance of W2 (Sec. 4: 1.0).
        blur_sigma: blur of the weight images in pixels (Sec. 4: 0.1); ignored for flat inputs.
        seed: seeds the random first-layer weights.
        feature_scale: c in the hidden features ``c * phi(W1 x + b)``; 1 (the paper's plain
            ``phi``) by default; ``sqrt(2 / D)`` would be the kernel normalisation of random features.
        init_std: the initial Cholesky factor ``L = init_std * I`` of the posterior (paper: 1).
        renormalise: ``(M,)`` per member, how its warped RFF rows are rescaled (``warps.filter_gain``; the
            base-kernel confound's controls, issue 39): 0 not (the paper), 1 to their own norm, 2 to their own
            spread ``|w|_C`` on the data (``metric``); None (the paper) for every member. RFF images only.
        metric: ``(P, P)``, ``C`` of ``renormalise`` 2 (the training images' covariance).
    """

    learn: Tensor  # (M, 6) buffer
    bayes: Tensor  # (M,) buffer
    W1: Tensor  # (1, D, P) buffer (rff) or (M, D, P) parameter (relu)
    b1: Tensor  # (1, D) buffer or (M, D) parameter
    renorm: Tensor | None  # (M,) buffer, or None
    metric: Tensor | None  # (P, P) buffer, or None

    def __init__(self, kind: str, image_shape: tuple[int, ...], hidden: int, classes: int,
                 eta_init: Tensor, learn: Tensor, bayes: Tensor, sigma: float = 0.3,
                 alpha: float = 1.0, blur_sigma: float = 0.1, seed: int = 0, feature_scale: float = 1.0,
                 init_std: float = 1.0, renormalise: Tensor | None = None, metric: Tensor | None = None):
        super().__init__()
        if kind not in ("rff", "relu"):
            raise ValueError(f"kind must be 'rff' or 'relu', got {kind!r}")
        if len(image_shape) not in (1, 3):
            raise ValueError(f"image_shape must be (C, H, W) or (P,) for flat inputs, got {image_shape}")
        eta_init, learn, bayes = (torch.as_tensor(t, dtype=torch.float32) for t in (eta_init, learn, bayes))
        M = eta_init.shape[0]
        if eta_init.shape != (M, 6) or learn.shape != (M, 6) or bayes.shape != (M,):
            raise ValueError(f"eta_init (M, 6), learn (M, 6), bayes (M,) expected, got "
                             f"{tuple(eta_init.shape)}, {tuple(learn.shape)}, {tuple(bayes.shape)}")
        self.kind, self.image_shape, self.hidden, self.classes = kind, tuple(image_shape), hidden, classes
        self.blur_sigma, self.feature_scale = blur_sigma, float(feature_scale)
        P = math.prod(image_shape)
        gen = torch.Generator().manual_seed(seed)
        self.eta = nn.Parameter(eta_init.clone())  # (M, 6)
        self.register_buffer("learn", learn.clone())  # (M, 6)
        self.register_buffer("bayes", bayes.clone())  # (M,)
        if kind == "rff":
            self.register_buffer("W1", sigma * torch.randn(1, hidden, P, generator=gen))  # (1, D, P)
            self.register_buffer("b1", 2 * math.pi * torch.rand(1, hidden, generator=gen))  # (1, D)
        else:
            bound = math.sqrt(6.0 / (P + hidden))  # Xavier uniform
            self.W1 = nn.Parameter((2 * torch.rand(M, hidden, P, generator=gen) - 1) * bound)  # (M, D, P)
            self.b1 = nn.Parameter(torch.zeros(M, hidden))  # (M, D)
        self.posterior = ClassGaussian(M, classes, hidden + 1, alpha, init_std)
        if renormalise is not None:
            renormalise = torch.as_tensor(renormalise, dtype=torch.float32).clone()
            if kind != "rff" or len(image_shape) != 3 or renormalise.shape != (M,):
                raise ValueError(f"renormalise needs an RFF net on images and shape (M={M},); got kind {kind!r}, "
                                 f"image_shape {image_shape}, shape {tuple(renormalise.shape)}")
            if not set(renormalise.tolist()) <= {0.0, 1.0, 2.0}:
                raise ValueError(f"renormalise codes are 0, 1, 2; got {sorted(set(renormalise.tolist()))}")
            if (renormalise == 2).any() and (metric is None or metric.shape != (P, P)):
                raise ValueError(f"renormalise 2 needs a metric of shape ({P}, {P}), got "
                                 f"{None if metric is None else tuple(metric.shape)}")
        # not persistent: the state of every other sweep (and its checkpoints) is unchanged
        self.register_buffer("renorm", renormalise, persistent=False)  # (M,) or None
        self.register_buffer("metric", None if metric is None else torch.as_tensor(metric, dtype=torch.float32),
                             persistent=False)  # (P, P) or None

    @property
    def members(self) -> int:
        """M."""
        return self.eta.shape[0]

    def effective_eta(self) -> Tensor:
        """``(M, 6)``: eta with the gradient cut where it is fixed."""
        return self.eta * self.learn + self.eta.detach() * (1 - self.learn)  # (M, 6)

    def first_layer(self, matrices: Tensor | None) -> Tensor:
        """Transformed first-layer weights ``(M, S, D, P)`` (``S = 1`` and no warp when ``matrices`` is None)."""
        M, D = self.members, self.hidden
        W1 = self.W1.expand(M, D, self.W1.shape[-1])  # (M, D, P)
        if matrices is None:
            return W1.unsqueeze(1)  # (M, 1, D, P)
        if len(self.image_shape) == 1:  # flat inputs (the toy): w^T (T x) = (T^T w)^T x, rows move by T^T (Sec. 3.2)
            if W1.shape[-1] != 2:
                raise ValueError(f"flat inputs are transformed as 2-D points; got P = {W1.shape[-1]}")
            return torch.einsum("msji,mdj->msdi", matrices[..., :2, :2], W1)  # (M, S, D, 2)
        w = self.W1.reshape(self.W1.shape[0], D, *self.image_shape)  # (M or 1, D, C, H, W)
        return transform_weights(w, matrices, self.blur_sigma).flatten(3)  # (M, S, D, P)

    def filter_gains(self, matrices: Tensor) -> Tensor | None:
        """``(M, S, D)``: ``warps.filter_gain`` for the members that ``renormalise`` (in the metric of their code), 1
        for the others; None without ``renormalise``."""
        if self.renorm is None:
            return None
        gain = matrices.new_ones(*matrices.shape[:2], self.hidden)  # (M, S, D)
        w = self.W1.reshape(1, self.hidden, *self.image_shape)  # (1, D, C, H, W)
        for code, metric in ((1, None), (2, self.metric)):
            idx = (self.renorm == code).nonzero().flatten()
            if len(idx):
                gain[idx] = filter_gain(w, matrices[idx], self.blur_sigma, metric)
        return gain

    def features(self, x: Tensor, matrices: Tensor | None) -> Tensor:
        """Hidden features ``c * phi((W1 o T) x + b)`` (``c = feature_scale``), for images computed as
        ``W1 (A_T^T x)`` (``warp_inputs``: the same numbers to float round-off, a test checks it).

        Args:
            x: ``(B, *image_shape)``.
            matrices: ``(M, S, 3, 3)`` or None (no transformation).

        Returns:
            ``(M, S, B, D)``.
        """
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"inputs must be (B, {self.image_shape}), got {tuple(x.shape)}")
        if matrices is None or len(self.image_shape) == 1:
            W = self.first_layer(matrices)  # (M, S, D, P)
            pre = torch.matmul(W, x.flatten(1).T).transpose(-1, -2)  # (M, S, B, D)
        else:
            M, S, B = self.members, matrices.shape[1], len(x)
            xw = warp_inputs(x, matrices, self.blur_sigma).reshape(M, S * B, -1)  # (M, S*B, P)
            if self.W1.shape[0] == 1:  # shared random features: one matrix product for every member and sample
                pre = (xw.reshape(M * S * B, -1) @ self.W1[0].T).reshape(M, S, B, self.hidden)  # (M, S, B, D)
            else:
                pre = torch.bmm(xw, self.W1.transpose(1, 2)).reshape(M, S, B, self.hidden)  # (M, S, B, D)
            gain = self.filter_gains(matrices)
            pre = pre if gain is None else pre * gain.unsqueeze(2)  # (M, S, B, D)
        pre = pre + self.b1.unsqueeze(1).unsqueeze(1)  # (M, S, B, D)
        act = torch.cos(pre) if self.kind == "rff" else F.relu(pre)  # (M, S, B, D)
        return self.feature_scale * act  # (M, S, B, D)

    def forward(self, x: Tensor, samples: int = 32, generator: torch.Generator | None = None,
                eps: Tensor | None = None, sample_weights: bool = True, common: bool = False,
                fast: bool = False) -> Tensor:
        """``log f_hat(x; eta)`` of eq. (6): the log of the sample-averaged class probabilities.

        Args:
            x: ``(B, *image_shape)``.
            samples: S Monte Carlo transformations (ignored when ``eps`` is given).
            generator: source of the noise in T and in W2.
            eps: ``(S, 6)`` or ``(M, S, 6)`` fixed noise (deterministic sampling, Sec. 3.4).
            sample_weights: draw ``W2 ~ q`` (training); False uses the posterior mean.
            common: the same noise for every member (in T and in W2): common random numbers that
                make the members' estimates comparable (evaluation).
            fast: ``fast_step``'s operators (the same numbers to float round-off, the same noise; images only,
                and only where the blur is the identity, else the reference computation).

        Returns:
            ``(M, B, K)`` log-probabilities.
        """
        if eps is None:
            eps = uniform_eps(1 if common else self.members, samples, generator, self.eta.device)  # (M or 1, S, 6)
            eps = eps[0] if common else eps
        T = transformation_matrices(self.effective_eta(), eps.to(self.eta.device))  # (M, S, 3, 3)
        fast = fast and self._fast_ok(x)
        scale = self.bayes if sample_weights else torch.zeros_like(self.bayes)  # (M,)
        W2 = self.posterior.sample(scale, generator, common, fast=fast)  # (M, K, D+1)
        if fast:
            gain = self.filter_gains(T)  # (M, S, D) or None
            if gain is None:
                pre = fast_step.warped_linear(x, T, self.W1, self.b1, self._runs())  # (M, S*B, D)
            else:  # W1 A_T^T x scaled per row, then the phases
                M, S, B = T.shape[0], T.shape[1], len(x)
                pre = fast_step.warped_linear(x, T, self.W1, torch.zeros_like(self.b1), self._runs())
                pre = (pre.view(M, S, B, -1) * gain.unsqueeze(2)).view(M, S * B, -1) + self.b1.unsqueeze(1)
            feat = fast_step.cos_features if self.kind == "rff" else fast_step.relu_features
            return fast_step.output_log_probs(feat(pre, self.feature_scale), W2, T.shape[1])  # (M, B, K)
        h = self.features(x, T)  # (M, S, B, D)
        h = torch.cat([h, torch.ones_like(h[..., :1])], -1)  # (M, S, B, D+1)
        logp = torch.log_softmax(torch.einsum("msbd,mkd->msbk", h, W2), -1)  # (M, S, B, K)
        return torch.logsumexp(logp, 1) - math.log(logp.shape[1])  # (M, B, K)

    def _fast_ok(self, x: Tensor) -> bool:
        """Whether ``fast_step`` computes this model's features: images, a blur that is the identity
        (``warps.blur_is_identity``) and a positive feature scale."""
        return len(self.image_shape) == 3 and self.feature_scale > 0 and blur_is_identity(self.blur_sigma, x.dtype)

    def _runs(self) -> tuple[tuple[int, int], ...]:
        """The contiguous member ranges whose eta is learned somewhere (``fast_step.learned_runs``)."""
        return fast_step.learned_runs(self.learn.detach().cpu().bool().any(-1))

    def kl(self, fast: bool = False) -> Tensor:
        """``(M,)``: the KL term of eq. (9), zero for maximum-likelihood members."""
        return self.bayes * self.posterior.kl(fast)  # (M,)

    def log_lik(self, x: Tensor, y: Tensor, samples: int = 32, generator: torch.Generator | None = None,
                sample_weights: bool = True, common: bool = False, fast: bool = False) -> Tensor:
        """``log f_hat(x_b)[y_b]`` per member and point: the data term of eq. (9) (one ``W2 ~ q`` draw where
        ``sample_weights``, L = 1; arguments as ``forward``'s).

        Args:
            x: ``(B, *image_shape)``; y: ``(B,)`` labels.

        Returns:
            ``(M, B)``.
        """
        logf = self(x, samples, generator, sample_weights=sample_weights, common=common, fast=fast)  # (M, B, K)
        return logf.gather(-1, y.expand(logf.shape[0], -1).unsqueeze(-1)).squeeze(-1)  # (M, B)

    def elbo(self, log_lik: Tensor, n_data: int, fast: bool = False) -> Tensor:
        """The per-datapoint ELBO of eq. (9), ``log_lik - KL / N``: the one definition training (``neg_elbo``) and
        evaluation (``train.evaluate``) share.

        Args:
            log_lik: ``(M,)`` an estimate of ``1/N sum_n E_q E_T log f_hat(x_n)[y_n]`` (means of ``log_lik``).
            n_data: N; fast: ``fast_step``'s KL.

        Returns:
            ``(M,)``.
        """
        return log_lik - self.kl(fast) / n_data  # (M,)

    def neg_elbo(self, x: Tensor, y: Tensor, n_data: int, samples: int = 32,
                 generator: torch.Generator | None = None, fast: bool = False) -> Tensor:
        """Minus the per-datapoint SGVB estimate of eq. (9) on a mini-batch (L = 1 weight sample): ``-elbo`` of the
        batch's mean ``log_lik``.

        ``-[ mean_b log f_hat(x_b)[y_b] - KL / N ]``: the batch-averaged cross-entropy of the
        sample-averaged prediction plus the KL spread over the N training points.

        Args:
            x: ``(B, *image_shape)``; y: ``(B,)`` labels; n_data: N; fast: ``fast_step``'s operators.

        Returns:
            ``(M,)``.
        """
        return -self.elbo(self.log_lik(x, y, samples, generator, fast=fast).mean(-1), n_data, fast)  # (M,)

    def member(self, m: int) -> "InvariantNet":
        """A one-member ``InvariantNet`` holding member ``m``'s eta, first layer and posterior (a copy): its
        outputs are ``self``'s ``[m]`` for the same noise.

        Raises:
            ValueError: ``m`` outside ``0 .. M - 1``.
        """
        if not 0 <= m < self.members:
            raise ValueError(f"member must be in 0..{self.members - 1}, got {m}")
        one = copy.deepcopy(self)
        pick = lambda t: t[m:m + 1].detach().clone()  # noqa: E731
        one.eta = nn.Parameter(pick(self.eta))  # (1, 6)
        one.learn, one.bayes = pick(self.learn), pick(self.bayes)  # (1, 6), (1,)
        if self.renorm is not None:
            one.renorm = pick(self.renorm)  # (1,)
        if self.kind == "relu":
            one.W1, one.b1 = nn.Parameter(pick(self.W1)), nn.Parameter(pick(self.b1))  # (1, D, P), (1, D)
        q = one.posterior
        q.mu, q.log_diag, q.off = (nn.Parameter(pick(getattr(self.posterior, n))) for n in ("mu", "log_diag", "off"))
        return one
