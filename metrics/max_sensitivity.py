"""Max-sensitivity (Quantus ``MaxSensitivity``).

Largest relative change of the explanation under small uniform input noise (radius 0.2); ``nr_samples``
= 10 (Quantus: 200) re-explanations per image. Lower is better (more robust).

Reference: Yeh et al. 2019, On the (In)fidelity and Sensitivity of Explanations, NeurIPS.
"""

from __future__ import annotations

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class MaxSensitivityMetric(QuantusMetric):
    __doc__ = __doc__
    name = "max-sensitivity"
    display_name = "Max-sensitivity"
    direction = "lower"
    description = ("Quantus `MaxSensitivity` (10 samples, noise radius 0.2): largest relative change of the "
                   "explanation under small uniform input noise")
    family = "robustness"
    reference = "Yeh et al. 2019, On the (In)fidelity and Sensitivity of Explanations, NeurIPS"
    quantus_class = "MaxSensitivity"
    defaults = {'nr_samples': 10, 'lower_bound': 0.2}
    needs = Needs(saliency=True, explain_fn=True)
