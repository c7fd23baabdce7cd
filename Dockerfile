# atlas in one image: every command (`atlas daemon`, `atlas bridge`, `atlas skill run …`).
#
#   docker build -t atlas .
#   docker run --rm atlas --help
#
# docker-compose.yml builds it for each service. Layers go from the least to the
# most often changed: the dependencies are installed from pyproject.toml alone,
# so editing the code rebuilds only the last layers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ATLAS_DATA_DIR=/data \
    ATLAS_CACHE_DIR=/data/cache

# A user of its own: nothing in the container runs as root. It writes only to
# /data (users, models, and the place-name index built at the first start).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin atlas \
    && mkdir /data && chown atlas /data

WORKDIR /app

# Only the dependencies listed in pyproject.toml: a change to the code keeps this layer.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY atlas ./atlas
RUN pip install --no-deps . && rm -rf build *.egg-info
# Read at run time from /app: config/atlas.yml is the default configuration there,
# and its skills_dir points at /app/skills.
COPY config ./config
COPY skills ./skills

USER atlas
VOLUME ["/data"]
ENTRYPOINT ["atlas"]
CMD ["--help"]
