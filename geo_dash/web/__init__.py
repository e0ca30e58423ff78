"""The web application (Dash)."""
