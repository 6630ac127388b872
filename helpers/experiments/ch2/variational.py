"""A variational Gaussian over the output-layer weights, one full-covariance block per class (ch2, Sec. 3.7).

The output weights ``W2`` of the chapter-2 networks have a row ``w_c`` (hidden features plus a bias)
per class ``c``. The variational posterior is block diagonal over classes (Appendix A):

    q(W2) = prod_c N(w_c | mu_c, Sigma_c),   Sigma_c = L_c L_c^T,  L_c lower triangular,

with the prior ``p(w_c) = N(0, alpha I)``. The KL divergence has the closed form (Appendix A; the
appendix prints ``tr{Sigma_p Sigma_c}``, the standard form is ``tr{Sigma_p^{-1} Sigma_c}``):

    KL(q || p) = sum_c 1/2 [ log(|Sigma_p| / |Sigma_c|) - D + tr(Sigma_p^{-1} Sigma_c)
                             + mu_c^T Sigma_p^{-1} mu_c ]                              (App. A)

Everything is batched over ``M`` independent members (a sweep trained as one model).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .fast_step import packed_lower_matvec, squared_norm

__all__ = ["ClassGaussian"]


class ClassGaussian(nn.Module):
    """``M`` independent block-diagonal Gaussians over ``(K, D)`` output weights, initialised at
    ``mu = 0`` and ``L = init_std * I`` (the paper's initialisation is ``L = I``, Sec. 4).

    The Cholesky factor is ``L = lower(off) + diag(exp(log_diag))``: a positive diagonal kept in log
    space (so it can shrink by orders of magnitude in few steps) and the ``D (D - 1) / 2`` entries
    below it stored packed (row by row, as ``torch.tril_indices(D, D, -1)`` lists them). Packing
    halves the parameters the optimiser touches, and neither the KL nor a sample builds the full
    ``L`` (for D = 513 and 12 members x 10 classes, ``L`` is 126 MB).

    Args:
        members: M.
        classes: K.
        dim: D (hidden features + 1 for the bias).
        alpha: prior variance of ``N(0, alpha I)``.
        init_std: the initial ``L = init_std * I`` (the paper: 1).
    """

    _flat: Tensor  # (P,) buffers: the strictly lower entries' positions
    _rows: Tensor
    _cols: Tensor

    def __init__(self, members: int, classes: int, dim: int, alpha: float = 1.0, init_std: float = 1.0):
        super().__init__()
        if min(members, classes, dim) < 1:
            raise ValueError(f"members, classes, dim must be >= 1, got {members}, {classes}, {dim}")
        if alpha <= 0:
            raise ValueError(f"prior variance alpha must be > 0, got {alpha}")
        if init_std <= 0:
            raise ValueError(f"init_std must be > 0, got {init_std}")
        self.alpha = float(alpha)
        self.mu = nn.Parameter(torch.zeros(members, classes, dim))  # (M, K, D)
        self.log_diag = nn.Parameter(torch.full((members, classes, dim), math.log(init_std)))  # (M, K, D)
        rows, cols = torch.tril_indices(dim, dim, -1)  # (P,), P = D (D - 1) / 2
        self.register_buffer("_flat", rows * dim + cols, persistent=False)  # (P,) positions in a flat D x D
        self.register_buffer("_rows", rows, persistent=False)  # (P,)
        self.register_buffer("_cols", cols, persistent=False)  # (P,)
        self.off = nn.Parameter(torch.zeros(members, classes, len(rows)))  # (M, K, P) strictly lower, packed

    @property
    def L(self) -> Tensor:
        """``(M, K, D, D)`` lower-triangular Cholesky factors with positive diagonal."""
        M, K, D = self.mu.shape
        below = self.off.new_zeros(M, K, D * D).index_copy(-1, self._flat, self.off).view(M, K, D, D)  # (M, K, D, D)
        return below + torch.diag_embed(self.log_diag.exp())  # (M, K, D, D)

    def sample(self, noise_scale: Tensor | float = 1.0, generator: torch.Generator | None = None,
               common: bool = False, fast: bool = False) -> Tensor:
        """One reparameterised sample ``W2 = mu + s * L eps`` per member, from the packed factor: ``(L eps)_i =
        exp(log_diag_i) eps_i + sum_{j < i} off_ij eps_j`` as one product and one ``index_add`` over the ``D (D - 1)
        / 2`` entries (the dense ``L``, its zeros and its gradient are never built).

        Args:
            noise_scale: ``(M,)`` or a float; 0 gives the mean (a point estimate).
            generator: source of ``eps ~ N(0, I)``.
            common: one ``eps`` shared by all members (common random numbers for comparisons).
            fast: the same sum one row segment at a time (``fast_step.packed_lower_matvec``; same noise).

        Returns:
            ``(M, K, D)``.
        """
        M, K, D = self.mu.shape
        eps = torch.randn(1 if common else M, K, D, generator=generator).to(self.mu.device)  # (M or 1, K, D)
        if fast:
            below = packed_lower_matvec(self.off.reshape(M * K, -1), eps.expand(M, K, D).reshape(M * K, D))
            noise = below.view(M, K, D) + self.log_diag.exp() * eps  # (M, K, D)
        else:
            below = self.off * eps[..., self._cols]  # (M, K, P): off_ij eps_j
            noise = self.mu.new_zeros(M, K, D).index_add(-1, self._rows, below) + self.log_diag.exp() * eps
        s = torch.as_tensor(noise_scale, dtype=self.mu.dtype, device=self.mu.device)
        s = s.reshape(-1, 1, 1) if s.ndim == 1 else s  # (M, 1, 1) or ()
        return self.mu + s * noise  # (M, K, D)

    def kl(self, fast: bool = False) -> Tensor:
        """``(M,)``: ``KL(q || N(0, alpha I))`` of each member (App. A), from the packed factor:
        ``log|Sigma_c| = 2 sum log_diag``, ``||L_c||_F^2 = ||off||^2 + sum exp(2 log_diag)`` (``fast``: ``||off||^2``
        with ``fast_step.squared_norm``'s one-pass gradient)."""
        off2 = squared_norm(self.off) if fast else self.off.pow(2).sum(-1)  # (M, K)
        frobenius = off2 + (2 * self.log_diag).exp().sum(-1)  # (M, K): tr(Sigma_p^{-1} Sigma_c) = ||L_c||_F^2 / alpha
        D, alpha = self.mu.shape[-1], self.alpha
        maha = self.mu.pow(2).sum(-1) / alpha  # (M, K)
        kl = 0.5 * (D * math.log(alpha) - 2 * self.log_diag.sum(-1) - D + frobenius / alpha + maha)  # (M, K)
        return kl.sum(-1)  # (M,)
