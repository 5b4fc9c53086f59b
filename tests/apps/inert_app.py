"""A page that puts hostile strings through text.inert into every Markdown-rendering element."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402

from podium.text import inert  # noqa: E402
from test_text import HOSTILE  # noqa: E402

for i, text in enumerate(HOSTILE):
    st.markdown(f"**{i}** " + inert(text))
    st.caption(inert(text))
    st.warning(inert(text))
    st.metric(inert(text), 1, help=inert(text))
