"""Region perturbation (AOPC) (Quantus ``RegionPerturbation``).

Regions of ``patch_size`` x ``patch_size`` pixels (4, the default model's patch) perturbed most relevant
first (MoRF), 20 regions; the per-sample score is the mean of the curve of output drops (AOPC). Higher is
better.

Reference: Samek et al. 2017, Evaluating the Visualization of What a Deep Neural Network Has Learned, IEEE TNNLS.
"""

from __future__ import annotations

from iabench.metrics import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register("region-perturbation")
class RegionPerturbationMetric(QuantusMetric):
    __doc__ = __doc__
    name = "region-perturbation"
    display_name = "Region perturbation (AOPC)"
    direction = "higher"
    reference = "Samek et al. 2017, Evaluating the Visualization of What a Deep Neural Network Has Learned, IEEE TNNLS"
    quantus_class = "RegionPerturbation"
    defaults = {'patch_size': 4, 'regions_evaluation': 20, 'order': 'morf'}
    output = "curve-mean"
