"""Every invariance / equivariance measure of the book, one definition each.

The package grows one module per concept as the chapters land:
``invariance`` (ch1: DI, LI, SI), ``sensitivity`` (ch1: Jacobian sigma_max), ``output`` (ch1's Table 1 columns of
trained models and its nu rule), ``similarity`` (ch3: feature in/equivariance),
``liegg`` (ch4: polarization matrix, symmetry variance and bias), ``marginal`` (ch2's objective as a probe: the
rotation a marginal likelihood prefers for a trained network), ``checks`` (input validation). Tests and the book call
the same functions.
"""
from __future__ import annotations

from .invariance import (PENALTIES, distribution_invariance, invariance_penalty, logit_invariance,  # noqa: F401
                         orbit_logits, orbit_saliency, saliency_invariance, saliency_map, saliency_postprocess)
from .sensitivity import jacobian_sigma_max  # noqa: F401
from .similarity import (PARTS, SIMILARITIES, capture, feature_similarity, in_equivariance,  # noqa: F401
                         layer_in_equivariance, partition, similarity_matrix, token_maps)
from .liegg import (apply_generator, image_coordinates, image_gradient, lie_generators, polarization_matrix,  # noqa: F401
                    polarization_matrix_image, polarization_spectrum, spectrum_and_bias, symmetry_bias,
                    symmetry_variance, variance_along)
from .marginal import orbit_log_likelihood, preferred_rotation  # noqa: F401
from .output import output_lens, pick_nu  # noqa: F401

__all__: list[str] = []
__all__ += ["PENALTIES", "orbit_logits", "invariance_penalty", "distribution_invariance", "logit_invariance",
            "saliency_map", "saliency_postprocess", "orbit_saliency", "saliency_invariance", "jacobian_sigma_max"]
__all__ += ["polarization_matrix", "polarization_matrix_image", "image_coordinates", "image_gradient",
            "polarization_spectrum", "spectrum_and_bias", "symmetry_variance", "variance_along", "lie_generators",
            "symmetry_bias", "apply_generator"]
__all__ += ["SIMILARITIES", "PARTS", "feature_similarity", "similarity_matrix", "in_equivariance", "capture",
            "partition", "layer_in_equivariance", "token_maps"]
__all__ += ["orbit_log_likelihood", "preferred_rotation"]
__all__ += ["output_lens", "pick_nu"]
