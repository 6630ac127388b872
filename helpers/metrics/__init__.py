"""Every invariance / equivariance measure of the book, one definition each.

The package grows one module per concept as the chapters land:
``invariance`` (ch1: DI, LI, SI, Jacobian sensitivity), ``similarity`` (ch3: feature in/equivariance),
``liegg`` (ch4: polarization matrix, symmetry variance and bias). Tests and the book call the
same functions.
"""
from __future__ import annotations

__all__: list[str] = []
