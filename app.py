"""Podium: the whole map of the app. Page config, navigation, team mode's sign-in, then the shell
(store, sidebar, title, experiment list: ``app_pages/_shell.py``) around the page."""

from pathlib import Path

import streamlit as st

from app_pages._shell import open_page
from app_pages._signin import needs_sign_in, sign_in_gate

# The icon ships with the app: no page makes a request outside this server.
st.set_page_config(page_title="Podium", page_icon=str(Path(__file__).parent / "app_pages" / "podium.png"), layout="wide")

# (url path, title, icon): the url path also prefixes the page's own widget keys.
PAGES = [
    ("runs", "Runs", ":material/table_rows:"),
    ("compare", "Compare", ":material/compare_arrows:"),
    ("report", "Report", ":material/description:"),
    ("champion", "Champion", ":material/trophy:"),
]
pages = [st.Page(f"app_pages/{path}.py", title=title, icon=icon, url_path=path, default=path == "runs")
         for path, title, icon in PAGES]

# Navigation first, so a deep link (/compare?exp=…) keeps its page through the sign-in form.
page = st.navigation(pages, position="hidden" if needs_sign_in() else "sidebar")
sign_in_gate()
open_page(page.title, key=next(path for path, title, _ in PAGES if title == page.title))
page.run()
