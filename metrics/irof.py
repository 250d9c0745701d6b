"""IROF (Quantus ``IROF``).

Iterative removal of features: SLIC superpixels removed in order of their mean attribution, area over the
curve of the target output. Quantus' defaults with per-sample output. Higher is better.

Reference: Rieger & Hansen 2020, IROF: a low resource evaluation metric for explanation methods, ICLR workshop.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class IrofMetric(QuantusMetric):
    __doc__ = __doc__
    name = "irof"
    display_name = "IROF"
    direction = "higher"
    description = ("Quantus `IROF`: area over the curve of the target output as SLIC superpixels are removed in "
                   "order of their mean attribution")
    family = "faithfulness"
    reference = "Rieger & Hansen 2020, IROF: a low resource evaluation metric for explanation methods, ICLR workshop"
    quantus_class = "IROF"
    defaults = {"return_aggregate": False}
    single_channel_only = ("Quantus 0.6 IROF fails on C-channel images with a one-channel attribution "
                           "(its perturbation asserts equal image and mask shapes)")
