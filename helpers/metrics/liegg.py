"""LieGG (Moskalev et al. 2022, ch4): the network polarization matrix, symmetry variance and bias.

A model ``F`` is invariant to the one-parameter group ``exp(t h)`` on the data when, for every sample,

    dF(exp(t h) x)/dt |_{t=0} = sum_{i,j} dF/dx_i * h_ij * x_j = 0             (eq. 2)

Stacking one such linear equation in the ``d*d`` unknowns ``h_ij`` per sample gives the *network
polarization matrix* ``E`` ``(N, d*d)``; the right singular vectors of its (near-)zero singular values
span the Lie algebra of the symmetries the model learned. For images the group acts on the pixel
plane ``R^2`` and the condition becomes (eq. 3)

    sum_{p,k,j} dF/df(x_p) * df(x_p)/dx_p^k * h_kj * x_p^j = 0,   k, j in {1, 2},

so ``E`` has 4 columns. ``symmetry_variance`` is ``sigma_min(E)^2 / N`` (Sec. 4.2, from eq. 4) and
``symmetry_bias`` the Frobenius distance of a unit-norm generator to the nearest skew-symmetric
matrix (the nearest generator of a rotation group).

Conventions (decided here; the paper leaves them open):

* ``F`` is the sum of the model's outputs (as in the paper's Appendix A.4 code). For classifiers
  ``normalize=True`` L2-normalises the logits of each sample first (Appendix A.3.2).
* Image coordinates are ``(row, col)`` of the pixel centre, scaled to ``[-1, 1]`` exactly as
  ``torch.nn.functional.affine_grid(..., align_corners=False)`` scales them:
  ``(i - (H - 1) / 2) / (H / 2)``. Image gradients are central differences (``torch.gradient``), taken
  at the pixel itself, so no half-pixel shift between the gradient and its coordinate. (The authors'
  code uses forward differences with coordinates ``i / (H // 2) - 1``.)
* At the frame the derivative needs the image's value just outside it: ``background``, the value the group
  action brings in from outside (``helpers.transforms.rotate`` fills 0, so 0 by default). Padding with 0 an
  image whose background is not 0 (standardised images) adds a spurious edge of the background's height
  along the whole frame, which biases the retrieved generator (issue 24). ``background=None`` assumes
  nothing: one-sided differences from the image's own pixels on the first and last row and column, for
  images with no background (photos).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import check_batch

__all__ = ["polarization_matrix", "polarization_matrix_image", "image_coordinates", "image_gradient",
           "polarization_spectrum", "symmetry_variance", "variance_along", "lie_generators", "symmetry_bias",
           "apply_generator"]

Model = Callable[[Tensor], Tensor]


def _input_gradients(model: Model, x: Tensor, normalize: bool, chunk_size: int) -> Tensor:
    """``dF/dx`` for ``F = sum of outputs`` (per sample), in chunks; ``x`` ``(B, ...)`` -> ``(B, ...)``.

    Valid because samples do not interact in eval mode: the gradient of the batch sum w.r.t. sample b
    is the gradient of sample b's output.
    """
    was_training = model.training if isinstance(model, nn.Module) else None
    if isinstance(model, nn.Module):
        model.eval()
    grads = []
    try:
        for xc in torch.split(x, chunk_size):
            xc = xc.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                out = model(xc)  # (b, K) or (b,)
                if normalize:
                    if out.ndim < 2:
                        raise ValueError(f"normalize=True needs outputs (B, K), got {tuple(out.shape)}")
                    out = F.normalize(out.flatten(1), dim=1)  # (b, K), unit L2 norm per sample
                (g,) = torch.autograd.grad(out.sum(), xc)
            grads.append(g.detach())
    finally:
        if was_training and isinstance(model, nn.Module):
            model.train()
    return torch.cat(grads)  # (B, ...)


def polarization_matrix(model: Model, x: Tensor, blocks: int = 1, *, normalize: bool = False,
                        chunk_size: int = 4096) -> Tensor:
    """Network polarization matrix for vector data (eq. 2), with a group acting blockwise.

    The input ``x = (x_1, ..., x_blocks)`` holds ``blocks`` vectors of dimension ``d`` on which the same
    ``d x d`` generator ``h`` acts (for the O(5) task ``blocks = 2``, ``d = 5``). The row of a sample is

        E_b = vec( sum_k grad_{x_k} F(x) x_k^T )          (Appendix A.4)

    Args:
        model: a callable ``(B, blocks*d) -> (B, ...)``; ``F`` is the sum of its outputs.
        x: ``(B, blocks*d)``.
        blocks: the number of vectors the group acts on simultaneously.
        normalize: L2-normalise each sample's outputs before summing (classifiers).
        chunk_size: samples per backward pass.
    Returns:
        ``(B, d*d)``, row-major ``vec``: column ``i*d + j`` multiplies ``h_ij``.
    """
    if x.ndim != 2:
        raise ValueError(f"polarization_matrix needs x of shape (B, blocks*d), got {tuple(x.shape)}")
    if blocks < 1 or x.shape[1] % blocks:
        raise ValueError(f"blocks={blocks} does not divide the input dimension {x.shape[1]}")
    check_batch("x", x)
    B, d = x.shape[0], x.shape[1] // blocks
    g = _input_gradients(model, x, normalize, chunk_size).view(B, blocks, d)  # (B, blocks, d)
    E = torch.einsum("bki,bkj->bij", g, x.detach().view(B, blocks, d))  # (B, d, d)
    return E.reshape(B, d * d)  # (B, d*d)


def image_coordinates(H: int, W: int, dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """Pixel-centre coordinates ``(row, col)`` scaled like ``affine_grid(align_corners=False)``.

    Returns:
        ``(H, W, 2)``: ``[..., 0] = (i - (H-1)/2) / (H/2)``, ``[..., 1] = (j - (W-1)/2) / (W/2)``.
    """
    r = (torch.arange(H, dtype=dtype, device=device) - (H - 1) / 2) / (H / 2)  # (H,)
    c = (torch.arange(W, dtype=dtype, device=device) - (W - 1) / 2) / (W / 2)  # (W,)
    return torch.stack(torch.meshgrid(r, c, indexing="ij"), dim=-1)  # (H, W, 2)


def image_gradient(images: Tensor, background: float | None = 0.0) -> Tensor:
    """Spatial derivative of images per unit of the scaled coordinates of ``image_coordinates``.

    Central differences, with the image taken to be ``background`` outside its frame; ``background=None``:
    one-sided differences at the frame from the image's own pixels (module docstring).

    Args:
        images: ``(..., H, W)`` with ``H, W >= 3``.
        background: the image's value outside its frame, or ``None``.
    Returns:
        ``(..., H, W, 2)``: ``d/d(row)``, ``d/d(col)`` in scaled coordinates.
    """
    if background is not None and not math.isfinite(background):
        raise ValueError(f"background must be a finite number or None, got {background!r}")
    H, W = images.shape[-2:]
    if background is None:
        di, dj = torch.gradient(images, dim=(-2, -1), edge_order=1)  # each (..., H, W), one-sided at the frame
    else:
        padded = F.pad(images, (1, 1, 1, 1), value=float(background))  # (..., H+2, W+2)
        di, dj = (g[..., 1:-1, 1:-1] for g in torch.gradient(padded, dim=(-2, -1)))  # each (..., H, W)
    return torch.stack([di * (H / 2), dj * (W / 2)], dim=-1)  # (..., H, W, 2)


def polarization_matrix_image(model: Model, images: Tensor, *, normalize: bool = False,
                              background: float | None = 0.0) -> Tensor:
    """Network polarization matrix for a group acting on the image plane (eq. 3).

    Row ``b``, column ``2k + j`` is ``sum_{p,c} dF/df_c(x_p) * d f_c(x_p)/dx^k * x_p^j`` with
    ``(x^0, x^1) = (row, col)`` coordinates from ``image_coordinates`` and ``c`` the channels.
    Smooth the images first (the paper blurs them): the image gradient must be meaningful.

    Args:
        model: a callable on ``images`` (the shape it gets is the shape given here); ``F`` is the sum of
            its outputs.
        images: ``(B, H, W)`` or ``(B, C, H, W)``.
        normalize: L2-normalise each sample's outputs (logits) before summing (Appendix A.3.2).
        background: the images' value outside their frame (what the group action fills in), or ``None``
            for one-sided differences at the frame (``image_gradient``).
    Returns:
        ``(B, 4)``; reshape a row or a singular vector to ``(2, 2)`` to read it as a generator ``h``.
    """
    if images.ndim not in (3, 4):
        raise ValueError(f"polarization_matrix_image needs (B, H, W) or (B, C, H, W), got {tuple(images.shape)}")
    H, W = images.shape[-2:]
    if H < 3 or W < 3:
        raise ValueError(f"images must be at least 3x3 pixels, got {H}x{W}")
    check_batch("images", images)
    dI = image_gradient(images.detach(), background)  # (B, [C,] H, W, 2), d/d(scaled coordinate)
    dF = _input_gradients(model, images, normalize, 4096)  # (B, [C,] H, W), 4096 samples per backward pass
    xy = image_coordinates(H, W, images.dtype, images.device)  # (H, W, 2)
    E = torch.einsum("b...hw,b...hwk,hwj->bkj", dF, dI, xy)  # (B, 2, 2), summed over the channels if any
    return E.reshape(len(images), 4)  # (B, 4)


def polarization_spectrum(E: Tensor) -> tuple[Tensor, Tensor]:
    """SVD of a polarization matrix, singular values ascending.

    Args:
        E: ``(N, D)`` with ``D = d*d``.
    Returns:
        ``(sigma (D,), V (D, D))``: ``sigma`` ascending; column ``V[:, i]`` is the right singular vector of
        ``sigma[i]``. With fewer rows than columns (``N < D``) the missing singular values are 0.
    """
    if E.ndim != 2:
        raise ValueError(f"a polarization matrix is (N, D), got {tuple(E.shape)}")
    N, D = E.shape
    _, S, Vh = torch.linalg.svd(E.detach(), full_matrices=N < D)  # S (min(N, D),), Vh (D, D)
    if N < D:
        S = torch.cat([S, S.new_zeros(D - N)])  # (D,)
    return S.flip(0), Vh.flip(0).T  # (D,), (D, D)


def symmetry_variance(E: Tensor) -> float:
    """``V(E) = sigma_min(E)^2 / N`` (Sec. 4.2): how much ``F`` changes along its most invariant direction.

    Args:
        E: ``(N, d*d)`` polarization matrix.
    """
    sigma, _ = polarization_spectrum(E)
    return float(sigma[0] ** 2 / len(E))


def variance_along(E: Tensor, h: Tensor) -> float:
    """Eq. 4's variance at a given generator: ``||E vec(h)||^2 / N`` for ``h`` scaled to unit Frobenius norm.

    ``symmetry_variance`` is its minimum over all unit ``h`` (attained at ``lie_generators(E, 1)``); at a fixed
    ``h`` (the rotation generator, say) it says how much ``F`` changes along that one transformation.

    Args:
        E: ``(N, d*d)`` polarization matrix.
        h: ``(d, d)``, read row-major like the columns of ``E``.
    Raises:
        ValueError: ``h`` whose size does not match ``E``'s columns, or ``h = 0``.
    """
    if E.ndim != 2 or h.numel() != E.shape[1]:
        raise ValueError(f"variance_along needs E (N, d*d) and h (d, d) with d*d = E's columns; got "
                         f"{tuple(E.shape)} and {tuple(h.shape)}")
    v = h.reshape(-1).to(E)  # (d*d,)
    if not float(v.norm()) > 0:
        raise ValueError("variance_along needs a nonzero generator h")
    return float((E @ (v / v.norm())).pow(2).sum() / len(E))


def spectrum_and_bias(E: Tensor) -> dict:
    """What Figs. 2 and 3 of Moskalev et al. 2022 plot, from a polarization matrix ``E (N, d*d)`` (on the host,
    whatever E's device): the spectrum (``polarization_spectrum``), ``symmetry_variance`` and ``symmetry_bias`` in one
    pass.

    Returns:
        ``sigma (D,)`` singular values ascending, ``bias (D,)`` the symmetry bias of each right singular vector,
        ``variance`` = sigma_min^2 / N, and ``generator (d, d)`` the vector of the smallest singular value.
    """
    sigma, V = polarization_spectrum(E.double())  # (D,), (D, D)
    d = math.isqrt(E.shape[1])
    bias = symmetry_bias(V.T.reshape(-1, d, d))  # (D,), bias of the vector of sigma[i]
    return {"sigma": sigma.cpu(), "bias": bias.cpu(), "variance": float(sigma[0] ** 2 / len(E)),
            "generator": V[:, 0].reshape(d, d).cpu()}


def lie_generators(E: Tensor, k: int = 1) -> Tensor:
    """The learned generators: right singular vectors of the ``k`` smallest singular values.

    Args:
        E: ``(N, d*d)``.
        k: how many, smallest singular value first.
    Returns:
        ``(k, d, d)``, each of unit Frobenius norm.
    """
    D = E.shape[-1]
    d = math.isqrt(D)
    if d * d != D:
        raise ValueError(f"a polarization matrix has d*d columns, got {D}")
    if not 1 <= k <= D:
        raise ValueError(f"k must be in 1..{D}, got {k}")
    _, V = polarization_spectrum(E)
    return V[:, :k].T.reshape(k, d, d)  # (k, d, d)


def symmetry_bias(h: Tensor) -> Tensor:
    """Distance of a unit-norm generator to the nearest skew-symmetric matrix (rotation generator).

    ``B(h) = || h - (h - h^T)/2 ||_F = || (h + h^T)/2 ||_F`` for ``||h||_F = 1`` (Sec. 4.2); ``h`` is
    normalised to unit Frobenius norm first, so the bias lies in ``[0, 1]``: 0 for a pure rotation
    generator, 1 for a symmetric one (scaling, stretching).

    Args:
        h: ``(..., d, d)``.
    Returns:
        ``(...)``.
    """
    if h.ndim < 2 or h.shape[-1] != h.shape[-2]:
        raise ValueError(f"symmetry_bias needs square matrices (..., d, d), got {tuple(h.shape)}")
    h = h / torch.linalg.matrix_norm(h).clamp_min(1e-30)[..., None, None]  # (..., d, d), unit norm
    return torch.linalg.matrix_norm((h + h.transpose(-1, -2)) / 2)  # (...,)


def apply_generator(images: Tensor, h: Tensor, ts: Tensor) -> Tensor:
    """Transform images by the one-parameter group ``exp(t h)`` of a 2x2 generator (for figures).

    The transformed image samples the original at ``exp(t h) x`` (the action in eq. 3), bilinearly.

    Args:
        images: ``(B, H, W)``.
        h: ``(2, 2)`` generator in ``(row, col)`` coordinates (a row of ``lie_generators``).
        ts: ``(T,)`` group parameters.
    Returns:
        ``(T, B, H, W)``.
    """
    if images.ndim != 3 or h.shape != (2, 2):
        raise ValueError(f"apply_generator needs images (B, H, W) and h (2, 2), got {tuple(images.shape)}, {tuple(h.shape)}")
    B, H, W = images.shape
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=images.dtype, device=images.device)
    h_xy = swap @ h.to(images) @ swap  # (2, 2): affine_grid orders coordinates (x=col, y=row)
    A = torch.linalg.matrix_exp(ts.to(images)[:, None, None] * h_xy)  # (T, 2, 2)
    theta = torch.cat([A, A.new_zeros(len(ts), 2, 1)], dim=2)  # (T, 2, 3)
    theta = theta.repeat_interleave(B, dim=0)  # (T*B, 2, 3)
    grid = F.affine_grid(theta, [len(ts) * B, 1, H, W], align_corners=False)  # (T*B, H, W, 2)
    x = images.unsqueeze(1).repeat(len(ts), 1, 1, 1)  # (T*B, 1, H, W)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (T*B, 1, H, W)
    return out.view(len(ts), B, H, W)  # (T, B, H, W)
