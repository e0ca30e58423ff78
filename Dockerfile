# geo_dash application image (for docker-compose.yml). The database runs in its own service.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY geo_dash ./geo_dash
COPY data ./data
COPY layers ./layers
COPY walls ./walls
# editable: the package finds data/, layers/ and walls/ beside it in /app (not in site-packages)
RUN pip install -e . && useradd --system --home /app geodash
USER geodash
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "geo-dash setup && exec gunicorn --workers ${GEO_DASH_WORKERS:-4} --bind 0.0.0.0:8050 --timeout 120 geo_dash.web.wsgi:server"]
