"""Chapter 3's numbers typed in from the paper (Bruintjes, Motyka & van Gemert 2023), for the claims to cite."""
from __future__ import annotations

__all__ = ["FIG2B_RHO"]

#: Fig. 2b: Pearson's rho, over the blocks of one ResNet, of the 90-degree rotation invariance under each similarity
#: with the blocks' mean |activation| (cosine follows the magnitude, correlation does not).
FIG2B_RHO = {"cosine": 0.63, "correlation": 0.11}
