# betcore-sandbox: the BETCORE wallet API sandbox as a container.
#   docker build -t betcore-sandbox .
#   docker run --rm -p 8080:8080 betcore-sandbox
#   docker run -p 8080:8080 -v betcore-data:/data -e BETCORE_SANDBOX_STATE=/data/sandbox.db betcore-sandbox
#     (durable: the wallet kept in /data/sandbox.db on the volume, resumed after a restart)
# Any slim image with python3 and its venv module can be the base.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
# A CA bundle for pip, when the build runs behind a TLS-inspecting proxy (mount it into the build).
ARG PIP_CERT=
WORKDIR /src
COPY pyproject.toml README.md ./
COPY betcore_sandbox ./betcore_sandbox
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/venv/bin/python -c "import betcore_sandbox.web.app"

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sandbox \
 && mkdir /data && chown 10001:10001 /data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BETCORE_SANDBOX_HOST=0.0.0.0 \
    BETCORE_SANDBOX_PORT=8080 \
    BETCORE_SANDBOX_LOG_FORMAT=json
USER 10001:10001
# /data: where a durable sandbox keeps its database (BETCORE_SANDBOX_STATE=/data/sandbox.db, with a volume there).
# A new named volume takes this directory's owner, so the sandbox user can write it. No VOLUME instruction: a
# sandbox in memory (the default) should not leave an anonymous volume behind.
WORKDIR /tmp
EXPOSE 8080
# In-flight requests get 3 s to finish after SIGTERM; give `docker stop` a little more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-m", "betcore_sandbox", "healthcheck"]
ENTRYPOINT ["python", "-m", "betcore_sandbox"]
CMD ["serve"]
