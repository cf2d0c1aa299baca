"""Streamlit dashboard: a router (app.py) and thin pages over the registry core."""
