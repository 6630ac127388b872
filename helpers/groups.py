"""Groups and Lie-algebra tools.

Discrete groups (ch1, ch3) are small immutable types with ``act``, ``inverse`` and ``orbit``
(in the style of escnn and emlp). Elements are the integers ``0 .. order-1``; element ``g``
composes as ``act(act(x, h), g) == act(x, (g + h) % order)``.

Lie-algebra tools:
- ``affine_generators`` / ``affine_matrices``: the six generators of the affine group of the
  plane in homogeneous coordinates (ch2, Appendix E, eq. 10): T = exp(sum_i eps_i eta_i G_i).
- ``so_basis``: an orthonormal basis of so(n), the skew-symmetric matrices (ch4: the ground-truth generators).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["CyclicGroup", "Rot4", "CyclicShift", "ROT4", "TRANS3", "get_group", "AFFINE_NAMES", "affine_generators",
           "affine_matrices", "so_basis"]


@dataclass(frozen=True)
class CyclicGroup:
    """A finite cyclic group Z_n acting on images through their last two dims ``(..., H, W)``."""

    order: int
    name: str

    def act(self, x: Tensor, g: int) -> Tensor:
        """Apply element ``g`` to ``x`` of shape ``(..., H, W)``; returns the same shape."""
        raise NotImplementedError

    def _check(self, g: int) -> int:
        if not isinstance(g, int) or isinstance(g, bool):
            raise TypeError(f"{self.name}: a group element is an int, got {type(g).__name__} {g!r}")
        if not 0 <= g < self.order:
            raise ValueError(f"{self.name}: element {g} is not in 0..{self.order - 1}")
        return g

    def inverse(self, g: int) -> int:
        """The inverse element: ``act(act(x, g), inverse(g)) == x``."""
        return (-self._check(g)) % self.order

    def orbit(self, x: Tensor) -> Tensor:
        """Every transformed copy of ``x``.

        Args:
            x: ``(..., H, W)``.
        Returns:
            ``(G, ..., H, W)`` with ``out[g] = act(x, g)``.
        """
        return torch.stack([self.act(x, g) for g in range(self.order)])  # (G, ..., H, W)


@dataclass(frozen=True)
class Rot4(CyclicGroup):
    """C4: rotations by multiples of 90 degrees, element g is ``torch.rot90(x, g, dims=(-2, -1))``."""

    order: int = 4
    name: str = "ROT4"

    def act(self, x: Tensor, g: int) -> Tensor:
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"ROT4 acts on square images, got (..., H, W) = {tuple(x.shape[-2:])}")
        return torch.rot90(x, self._check(g), dims=(-2, -1))


@dataclass(frozen=True)
class CyclicShift(CyclicGroup):
    """Z_n of cyclic x-translations: element g rolls by ``g * W // n`` along the last dim."""

    order: int = 3
    name: str = "TRANS3"

    def act(self, x: Tensor, g: int) -> Tensor:
        width = x.shape[-1]
        if width % self.order:
            raise ValueError(f"{self.name}: width {width} is not divisible by the order {self.order}")
        return torch.roll(x, self._check(g) * width // self.order, dims=-1)


ROT4 = Rot4()
TRANS3 = CyclicShift()
_GROUPS = {"rot4": ROT4, "trans3": TRANS3}


def get_group(name: str) -> CyclicGroup:
    """Look a group up by name (``"rot4"`` or ``"trans3"``, any case)."""
    try:
        return _GROUPS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown group {name!r}; valid: {sorted(_GROUPS)}") from None


# --------------------------------------------------------------------------- affine group (ch2)
AFFINE_NAMES = ("translate_x", "translate_y", "rotate", "scale_x", "scale_y", "shear")


def affine_generators(dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """The six generators of ch2, Appendix E, in homogeneous coordinates.

    Order: x-translation, y-translation, rotation, x-scale, y-scale, shear.

    Returns:
        ``(6, 3, 3)``.
    """
    G = torch.zeros(6, 3, 3, dtype=dtype, device=device)
    G[0, 0, 2] = 1.0  # translate x
    G[1, 1, 2] = 1.0  # translate y
    G[2, 0, 1], G[2, 1, 0] = -1.0, 1.0  # rotate
    G[3, 0, 0] = 1.0  # scale x
    G[4, 1, 1] = 1.0  # scale y
    G[5, 0, 1], G[5, 1, 0] = 1.0, 1.0  # shear
    return G


def affine_matrices(eps: Tensor, eta: Tensor) -> Tensor:
    """Affine transformations T = exp(sum_i eps_i * eta_i * G_i) (ch2, eq. 3 / eq. 10).

    Differentiable in ``eta`` (the reparameterisation trick of ch2, Sec. 3.3).

    Args:
        eps: ``(S, 6)`` noise, typically ``U[-1, 1]``.
        eta: ``(6,)`` invariance parameters.
    Returns:
        ``(S, 3, 3)``.
    """
    if eps.ndim != 2 or eps.shape[-1] != 6:
        raise ValueError(f"eps must have shape (S, 6), got {tuple(eps.shape)}")
    if eta.shape != (6,):
        raise ValueError(f"eta must have shape (6,), got {tuple(eta.shape)}")
    G = affine_generators(dtype=eps.dtype, device=eps.device)  # (6, 3, 3)
    A = torch.einsum("si,i,ijk->sjk", eps, eta.to(eps), G)  # (S, 3, 3)
    return torch.linalg.matrix_exp(A)  # (S, 3, 3)


# --------------------------------------------------------------------------- so(n) (ch4)
def so_basis(n: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """An orthonormal (Frobenius) basis of so(n), the skew-symmetric n x n matrices.

    Element ``(i, j)`` for ``i < j`` is ``(E_ij - E_ji) / sqrt(2)``, in row-major order of ``(i, j)``.

    Returns:
        ``(n(n-1)/2, n, n)``.
    """
    if n < 2:
        raise ValueError(f"so(n) needs n >= 2, got {n}")
    i, j = torch.triu_indices(n, n, 1)  # the pairs i < j, row-major
    basis = torch.zeros(len(i), n, n, dtype=dtype)
    basis[torch.arange(len(i)), i, j], basis[torch.arange(len(i)), j, i] = 1 / 2**0.5, -1 / 2**0.5
    return basis  # (n(n-1)/2, n, n)
