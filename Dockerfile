# syntax=docker/dockerfile:1
# Unite-Hub production image: dependencies -> build -> runtime (Next standalone output only).
# Build:  docker-compose -f docker-compose.production.yml build   (tags unite-hub:${APP_VERSION:-latest})
#   or:   docker build --build-arg APP_VERSION=v1.2.3 -t unite-hub:v1.2.3 .
# No secret is needed to build: lib/env.ts validates the environment at server start, not in
# `next build`, so runtime configuration comes only from the container's environment
# (env_file: .env.production in compose) and never lands in a layer.

# ---- 1. dependencies: exactly the lockfile, dev dependencies included (next build needs
#         typescript and the @types packages; a production-only install cannot build).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1
COPY package.json package-lock.json ./
RUN npm ci --include=dev --no-audit --no-fund

# ---- 2. build: next build (output: 'standalone'); static assets are copied by the runtime stage.
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# public/ is optional in the repository; the runtime stage copies it, so make sure it exists.
RUN mkdir -p public && node_modules/.bin/next build

# ---- 3. runtime: only the standalone server, its static assets and public/, as a non-root user.
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
# HOSTNAME=0.0.0.0: the standalone server binds to $HOSTNAME, and Docker sets HOSTNAME to the
# container id; without this override the server would not listen on 127.0.0.1 and the
# HEALTHCHECK below (and every published port) could never reach it.
ENV NODE_ENV=production \
    HOSTNAME=0.0.0.0 \
    PORT=3000 \
    NEXT_TELEMETRY_DISABLED=1
ARG APP_VERSION=latest
ENV APP_VERSION=${APP_VERSION}
LABEL org.opencontainers.image.title="unite-hub" \
      org.opencontainers.image.version="${APP_VERSION}"
# curl and nc are not needed by the app or its HEALTHCHECK (node's fetch): they are here because
# the production guide's troubleshooting runs them inside a slot container
# (`exec unite-hub-blue curl http://localhost:3000/api/health/system`, `nc -zv <db-host> 5432`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl netcat-openbsd \
 && rm -rf /var/lib/apt/lists/*
# Application files stay owned by root (read-only for the app); only Next's cache dir is writable.
COPY --from=build /app/.next/standalone ./
COPY --from=build /app/.next/static ./.next/static
COPY --from=build /app/public ./public
# The slot preload (the CMD below): with SLOT_SOCKET set (docker-compose.production.yml) the server
# also serves a unix socket, which nginx-lb reaches through the deploy CLI's switch links.
COPY --from=build /app/scripts/deploy/slot-socket.ts ./scripts/deploy/slot-socket.ts
COPY --from=build /app/scripts/deploy/slot-env.ts ./scripts/deploy/slot-env.ts
# Docker Swarm (scripts/deploy/swarm/docker-stack.yml) preloads this too: it reads the env-file
# Swarm secret into the environment. Without SECRETS_ENV_FILE it does nothing.
COPY --from=build /app/scripts/deploy/secret-env.ts ./scripts/deploy/secret-env.ts
RUN mkdir -p .next/cache && chown node:node .next/cache
# `node` (uid 1000) is the unprivileged user the official Node image ships.
USER node
EXPOSE 3000
# Node's own fetch (no dependence on curl), bounded by a timeout, exit 0 only on HTTP 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health/live',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop / compose stop) starts the app's own drain (SHUTDOWN_TIMEOUT_MS); the
# compose stop_grace_period is longer than that drain so Docker never SIGKILLs a draining server.
STOPSIGNAL SIGTERM
# TCP port 3000 always (probes, HEALTHCHECK); plus SLOT_SOCKET when set. Without it the preload does
# nothing: plain `node server.js`. Node 24 runs the .ts preload by type stripping.
CMD ["node", "--import", "./scripts/deploy/slot-socket.ts", "server.js"]
