"""Complexity (entropy) (Quantus ``Complexity``).

Entropy of the attribution's fractional contributions. Lower is simpler.

Reference: Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations, IJCAI.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class ComplexityMetric(QuantusMetric):
    __doc__ = __doc__
    name = "complexity"
    display_name = "Complexity (entropy)"
    direction = "lower"
    description = "Quantus `Complexity`: entropy of the attribution's fractional contributions"
    family = "complexity"
    reference = "Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations, IJCAI"
    quantus_class = "Complexity"
    defaults = {}
    constant_is_nan = False  # a constant map has a defined value
