"""Podium: the whole map of the app. Page config, team mode's sign-in, then navigation."""

from pathlib import Path

import streamlit as st

from app_pages._signin import needs_sign_in, sign_in_gate

# The icon ships with the app: no page makes a request outside this server.
st.set_page_config(page_title="Podium", page_icon=str(Path(__file__).parent / "app_pages" / "podium.png"), layout="wide")

pages = [
    st.Page("app_pages/runs.py", title="Runs", icon=":material/table_rows:", url_path="runs", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("app_pages/report.py", title="Report", icon=":material/description:", url_path="report"),
    st.Page("app_pages/champion.py", title="Champion", icon=":material/trophy:", url_path="champion"),
]

# Navigation first, so a deep link (/compare?exp=…) keeps its page through the sign-in form.
page = st.navigation(pages, position="hidden" if needs_sign_in() else "sidebar")
sign_in_gate()
page.run()
