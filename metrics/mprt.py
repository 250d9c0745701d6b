"""Model parameter randomisation (Quantus ``MPRT``).

The sanity check: similarity (Spearman) between the explanation of the trained model and of the model with
all its layers re-initialised (cascading, top-down; ``skip_layers`` so only the fully randomised model is
explained). An explanation that depends on the model changes: lower is better.

Reference: Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS.
"""

from __future__ import annotations

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class MprtMetric(QuantusMetric):
    __doc__ = __doc__
    name = "mprt"
    display_name = "Model parameter randomisation"
    direction = "lower"
    description = ("Quantus `MPRT` (`skip_layers`: the fully randomised model only): Spearman similarity of the "
                   "explanations of the trained and of the randomised model")
    family = "sanity"
    reference = "Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS"
    quantus_class = "MPRT"
    defaults = {'skip_layers': True, 'return_last_correlation': True}
    needs = Needs(saliency=True, explain_fn=True)
    output = "last-layer"
