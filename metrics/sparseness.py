"""Sparseness (Gini) (Quantus ``Sparseness``).

Gini index of the absolute attribution: how concentrated the explanation is. Higher is sparser.

Reference: Chalasani et al. 2020, Concise Explanations of Neural Networks using Adversarial Training, ICML.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class SparsenessMetric(QuantusMetric):
    __doc__ = __doc__
    name = "sparseness"
    display_name = "Sparseness (Gini)"
    direction = "higher"
    description = "Quantus `Sparseness`: Gini index of the absolute attribution (how concentrated it is)"
    family = "complexity"
    reference = "Chalasani et al. 2020, Concise Explanations of Neural Networks using Adversarial Training, ICML"
    quantus_class = "Sparseness"
    defaults = {}
    constant_is_nan = False  # a constant map has a defined value
