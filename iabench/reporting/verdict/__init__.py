"""The verdict on IA-ViT's claims: its rules, the claims' rows and their decision, and the words and text it is
written in (claims (vi) and (vii) on planted evidence in ``truth``)."""

from .rules import COLUMNS, QUESTIONS, controls, variants, verdict
from .text import verdict_markdown
from .truth import PlantedEvidence

__all__ = ["COLUMNS", "QUESTIONS", "PlantedEvidence", "controls", "variants", "verdict", "verdict_markdown"]
