"""Podium: the whole map of the app. Page config and navigation, nothing else."""

import streamlit as st

st.set_page_config(page_title="Podium", page_icon=":material/leaderboard:", layout="wide")

pages = [
    st.Page("app_pages/runs.py", title="Runs", icon=":material/table_rows:", url_path="runs", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("app_pages/report.py", title="Report", icon=":material/description:", url_path="report"),
    st.Page("app_pages/champion.py", title="Champion", icon=":material/trophy:", url_path="champion"),
]

st.navigation(pages).run()
