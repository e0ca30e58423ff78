"""WSGI entry point for production servers: ``gunicorn geo_dash.web.wsgi:server``."""

from geo_dash.web.app import create_app

app = create_app()
server = app.server
