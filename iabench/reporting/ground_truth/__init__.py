"""Planted evidence in the report: the reliance section, the model contrast, protocols against the ground truth."""
