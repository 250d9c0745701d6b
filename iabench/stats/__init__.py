"""Statistics under the pipeline and the report: paired tests, TOST, MDE, Holm, variance components, intervals."""

from .holm import holm, holm_mde
from .intervals import bootstrap_ci, t_interval
from .paired import ALPHA, MIN_SEEDS, detectable, mean_test, orient, paired_differences, paired_effect, power
from .variance import SHARES, components, crossed_shares

__all__ = ["ALPHA", "MIN_SEEDS", "SHARES", "bootstrap_ci", "components", "crossed_shares", "detectable", "holm",
           "holm_mde", "mean_test", "orient", "paired_differences", "paired_effect", "power", "t_interval"]
