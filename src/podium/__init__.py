"""Podium: compare MLflow runs, write team reports and pick the champion model.

The package is the pure core of the app: nothing under ``podium`` imports Streamlit.
"""

__version__ = "0.1.0"
