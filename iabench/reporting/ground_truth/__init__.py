"""Planted evidence in the report: the reliance section, the model contrast, and which faithfulness protocol ranks
the explainers as the ground truth does (truth.csv with its figure)."""
