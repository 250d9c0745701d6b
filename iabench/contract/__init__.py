"""The contract every explainer and metric keeps: what it needs from a run (``Needs``), its typed options
(``Options``), and the one context a metric is scored with (``Context``). Below both ``iabench.baselines`` and
``iabench.metrics``, which never import each other."""

from .context import Context, ExplainerHandle, ExplainFn, FunctionExplainer
from .needs import Needs
from .options import NoOptions, Options, option

__all__ = ["Context", "ExplainFn", "ExplainerHandle", "FunctionExplainer", "Needs", "NoOptions", "Options", "option"]
