# One image for both services. The default command runs project-service; docker-compose.yml runs
# aggregator-service and the migrations from the same image with another command.
#
#   docker build -t hosting-control-plane .
#   docker run --rm -e NODE_ENV=production -e PROJECT_DATABASE_URL=... -e PROJECT_SERVICE_TOKEN=... \
#     -e AGGREGATOR_SERVICE_TOKEN=... -e AGGREGATOR_URL=... -e PUBLIC_BASE_URL=https://api.example.com \
#     -p 3000:3000 hosting-control-plane
#
# Install scripts: `--ignore-scripts` everywhere. The only dependencies that have one are the
# embedded PostgreSQL's platform binaries (not needed in a container: a real PostgreSQL is given by
# URL) and @scarf/scarf (analytics, denied in package.json "allowScripts"). The npm of this base
# image (npm 10) does not read "allowScripts", so skipping scripts is how the image keeps that policy.

# ---- build: every dependency, then `tsc -b tsconfig.build.json` ----
# Only what the image runs is compiled: the services, their migrations, the migrate and seed
# scripts (tsconfig.build.json; no tests, no test helpers, no benchmark). Layers go from what
# changes least to what changes most: the two `npm ci` layers are reused until the lockfile changes.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY project-service/package.json project-service/
COPY aggregator-service/package.json aggregator-service/
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY shared shared
COPY aggregator-service aggregator-service
COPY project-service project-service
COPY scripts scripts
RUN npx tsc -b tsconfig.build.json

# ---- runtime: production dependencies and the compiled code only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY project-service/package.json project-service/
COPY aggregator-service/package.json aggregator-service/
# --omit=optional drops embedded-postgres's platform binaries (~100 MB): the package itself stays
# (shared/src/db/embedded.ts imports it at top level) and loads a binary only when asked to start one.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/shared/dist/src shared/dist/src
COPY --from=build /app/project-service/dist/src project-service/dist/src
COPY --from=build /app/project-service/dist/migrations project-service/dist/migrations
COPY --from=build /app/aggregator-service/dist/src aggregator-service/dist/src
COPY --from=build /app/aggregator-service/dist/migrations aggregator-service/dist/migrations
# scripts/dist: migrate.js and seed.js (and their databases.js, migrations.js) for `docker compose run`.
COPY --from=build /app/scripts/dist scripts/dist
COPY seeds seeds
COPY docker/healthcheck.mjs docker/healthcheck.mjs

# V8 heap sizes of a service process (set after npm ci, which needs more): the value of SERVICE_NODE_OPTIONS in shared/src/config.ts (docker.test.ts checks).
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=96"

# Everything above belongs to root and is read-only for the service.
USER node
EXPOSE 3000 3001
# /healthz of the service this container runs (docker/healthcheck.mjs picks the port). Every 5 s:
# the first probe comes one interval after the start, and `--start-interval` (a short first
# interval) needs engine 25, which many hosts (Debian's docker.io 20.10) and compose 1.29 lack.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 CMD ["node", "docker/healthcheck.mjs"]
# Exec form: node is PID 1 and gets SIGTERM itself (the services drain and exit 0).
CMD ["node", "project-service/dist/src/main.js"]
