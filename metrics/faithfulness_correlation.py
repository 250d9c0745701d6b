"""Faithfulness correlation (Quantus ``FaithfulnessCorrelation``).

Pearson correlation, over random pixel subsets, between the subset's summed attribution and the drop
of the target output when the subset is replaced by the baseline. Quantus' defaults (100 runs, subsets
of 224 pixels, black baseline) with per-sample output. Higher is better.

Reference: Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations, IJCAI, Eq. 3.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class FaithfulnessCorrelationMetric(QuantusMetric):
    __doc__ = __doc__
    name = "faithfulness-correlation"
    display_name = "Faithfulness correlation"
    direction = "higher"
    description = ("Quantus `FaithfulnessCorrelation`: Pearson correlation, over random pixel subsets, of the "
                   "subset's summed attribution with the output drop when it is replaced by the baseline")
    family = "faithfulness"
    reference = "Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations, IJCAI, Eq. 3"
    quantus_class = "FaithfulnessCorrelation"
    defaults = {'return_aggregate': False}
