# syntax=docker/dockerfile:1
# CRA: one image, two targets. `api` serves the HTTP API, `worker` runs the Temporal workers.
#   docker build --target api -t cra-api .      docker build --target worker -t cra-worker .
# Debian slim, not Alpine: Temporal's native core-bridge is built against glibc
# (https://docs.temporal.io/develop/typescript/core-application#linux). Node 22 LTS; package.json: >=20.19.
# Dockerfile reference (multi-stage, USER, HEALTHCHECK): https://docs.docker.com/reference/dockerfile/
ARG NODE_IMAGE=node:22-bookworm-slim

# Build: every dependency, then the compiled JavaScript and the workflow bundle (`npm run build`).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# Runtime: production dependencies only, the build output, a non-root user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CRA_ENV=production \
    LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464 \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The official image's `node` user (uid 1000); numeric so Kubernetes' runAsNonRoot can check it.
USER 1000:1000

FROM runtime AS worker
EXPOSE 9464
# The worker's Prometheus endpoint answers once the runtime is up (workers/main.ts).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.METRICS_PORT+'/metrics').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# A capped V8 heap (bench/worker-memory.ts, BENCHMARKS.md): without it V8 sizes its heap to the machine and lets
# a sync's garbage pile up (a 373 MiB peak over 100 000 records); with it, 169 MiB ready and a 233 MiB peak.
# The cap is a hard limit: raise --max-old-space-size with the container's memory when one worker runs many
# syncs at once.
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=2", "dist/workers/main.js"]

# Last, so a plain `docker build .` gives the API.
FROM runtime AS api
EXPOSE 3000
# /healthz: the process serves (api/routes/health.ts); /readyz (Temporal + MongoDB) is the orchestrator's.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/api/main.js"]
