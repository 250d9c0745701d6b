"""The verdict on IA-ViT's claims: rules, claims, rows, words, text, and claims (vi)/(vii) on planted evidence."""

from .rules import COLUMNS, QUESTIONS, controls, variants, verdict
from .text import verdict_markdown
from .truth import PlantedEvidence

__all__ = ["COLUMNS", "QUESTIONS", "PlantedEvidence", "controls", "variants", "verdict", "verdict_markdown"]
