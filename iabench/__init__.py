"""iabench: an interpretability benchmark suite for Vision Transformers.

Reproduces and extends *Interpretability-Aware Vision Transformer* (IA-ViT, Qiang et al.,
arXiv 2309.08035): trains IA-ViT and a plain ViT, explains both with post hoc baselines,
scores every explanation with faithfulness metrics and writes comparison tables and plots.
"""

__version__ = "0.1.0"


def __getattr__(name: str):  # noqa: ANN202 - lazy: `import iabench` stays light (no torch until used)
    if name in ("evaluate", "explain", "load_model"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'iabench' has no attribute '{name}'")


__all__ = ["__version__", "evaluate", "explain", "load_model"]
