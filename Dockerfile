# pressbot's image: the wheel built from this checkout, installed in a virtual environment
# on a slim Python, run as a non-root user. compose.yaml runs it as web, worker, beat and a
# one-shot migration; the data folder (outbox, generated secret key) is the /data volume.
#
#   docker build -t pressbot .
#   docker run -p 8000:8000 -v pressbot-data:/data pressbot       # SQLite + embedded queue

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY bot ./bot
COPY tasks ./tasks
COPY templates ./templates
COPY examples ./examples
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY deploy/install-wheel.sh /usr/local/bin/install-wheel.sh
COPY --from=build /dist/ /tmp/dist/
# The same steps tests/integration/test_wheel.py runs: a fresh venv, pip install the wheel.
RUN install-wheel.sh /opt/pressbot /tmp/dist/pressbot-*.whl && rm -rf /tmp/dist \
    && useradd --create-home --uid 10001 --user-group pressbot \
    && mkdir /data && chown pressbot:pressbot /data
ENV PATH=/opt/pressbot/bin:$PATH PRESSBOT_HOME=/data
USER pressbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
# The Procfile's web process; compose.yaml gives worker, beat and migrate their commands.
CMD ["sh", "-c", "uvicorn --factory bot.web.app:app_factory --host 0.0.0.0 --port ${PORT:-8000}"]
