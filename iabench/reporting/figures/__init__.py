"""The report's figures: saving them (figure_io), one colour and line style per explainer (palette), curves, bars,
maps and training plots, the headline figure and critical-difference diagrams."""
