"""ROAD: RemOve And Debias (Quantus ``ROAD``).

Pixels are removed most relevant first (percentages 5, 15, ..., 95: Quantus' default 1..99 in steps of 2
costs ~2.4 s per 28x28 image here, five times as much) and imputed by noisy linear
imputation, which removes the class information leak of plain substitution; the per-sample score is the
mean target accuracy over the percentages (Quantus returns only batch aggregates, so each image is
scored by its own call). Lower is better.

Reference: Rong et al. 2022, A Consistent and Efficient Evaluation Strategy for Attribution Methods, ICML.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class RoadMetric(QuantusMetric):
    __doc__ = __doc__
    name = "road"
    display_name = "ROAD: RemOve And Debias"
    direction = "lower"
    description = ("Quantus `ROAD` (percentages 5..95 step 10, one call per image): mean target accuracy as the most "
                   "relevant pixels are removed and filled by noisy linear imputation")
    family = "faithfulness"
    reference = "Rong et al. 2022, A Consistent and Efficient Evaluation Strategy for Attribution Methods, ICML"
    quantus_class = "ROAD"
    defaults = {'percentages': list(range(5, 100, 10))}
    per_image_calls = True
    single_channel_only = ("Quantus 0.6 ROAD ranks the attribution broadcast over the channels (C*H*W "
                           "indices) but imputes pixels (H*W indices) and fails with an IndexError")
