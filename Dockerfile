# One slim, non-root image; its entry is `slabot run`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY scheduler ./scheduler
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SLABOT_DATABASE_URL=sqlite:////data/slabot.db \
    SLABOT_PORT=3000
COPY --from=build /install /usr/local
RUN useradd --create-home --uid 10001 slabot && mkdir -p /data /app && chown slabot /data /app
COPY --chown=slabot examples /app/examples
USER slabot
WORKDIR /app
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SLABOT_PORT', '3000'), timeout=4)"
ENTRYPOINT ["slabot"]
CMD ["run"]
