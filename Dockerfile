# syntax=docker/dockerfile:1
# One image for every critsvc process: `docker run critsvc <process>` with <process> one of
# watcher-services, watcher-pods, watcher-crds, handler, dashboard.
# The processes run the JavaScript tsc emits (apps/*/dist, packages/shared/dist: `pnpm build`), not
# the TypeScript sources: Node's type stripper costs each process ~17 MB of RSS.
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
RUN npm install --global --no-fund --no-audit pnpm@10.34.9
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY apps/watcher-services/package.json apps/watcher-services/
COPY apps/watcher-pods/package.json apps/watcher-pods/
COPY apps/watcher-crds/package.json apps/watcher-crds/
COPY apps/handler/package.json apps/handler/
COPY apps/dashboard/package.json apps/dashboard/
COPY packages/shared/package.json packages/shared/
# Production dependencies only; pnpm's symlinked layout is kept (workspace packages resolve to
# their real paths).
RUN pnpm install --frozen-lockfile --prod --ignore-scripts

# The build: every dependency (TypeScript among them), the sources, `pnpm build` (tsc -b per package).
FROM deps AS build
# (deps installed production dependencies only: pnpm asks before re-linking them, with no one to answer.)
RUN pnpm install --frozen-lockfile --ignore-scripts --config.confirmModulesPurge=false
COPY tsconfig.base.json tsconfig.build-base.json ./
COPY scripts/build.ts scripts/
COPY scripts/run/build.ts scripts/run/
COPY apps /app/apps
COPY packages /app/packages
# tsc -b's record of what it built (dist/.tsbuildinfo) is no use at run time.
RUN pnpm build && rm apps/*/dist/.tsbuildinfo packages/shared/dist/.tsbuildinfo

# The final stage is Debian slim plus the Node binary alone: no npm, npx, corepack or yarn (nothing
# is installed at run time) and no C headers, ~80 MB less than the node image.
FROM debian:bookworm-slim
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /usr/sbin/nologin --create-home node
ENV NODE_ENV=production
# The old generation gets half of the container's memory limit (Node 24 reads the cgroup's limit;
# raise the Deployment's limit and the heap follows), young semi-spaces of 2 MB. Without any
# setting V8 sizes the heap for the machine and RSS follows (bench/results/README.md).
# IMAGE_NODE_OPTIONS in scripts/run/supervisor.ts, checked by its test.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size-percentage=50"
WORKDIR /app
COPY --from=deps /app /app
# The built JavaScript only: no sources (nothing in the image runs TypeScript).
COPY --from=build /app/packages/shared/dist /app/packages/shared/dist
COPY --from=build /app/apps/watcher-services/dist /app/apps/watcher-services/dist
COPY --from=build /app/apps/watcher-pods/dist /app/apps/watcher-pods/dist
COPY --from=build /app/apps/watcher-crds/dist /app/apps/watcher-crds/dist
COPY --from=build /app/apps/handler/dist /app/apps/handler/dist
COPY --from=build /app/apps/dashboard/dist /app/apps/dashboard/dist
COPY docker/entrypoint.sh /app/docker/entrypoint.sh
# The `node` user (uid 1000, as in the node image) matches the Deployments' runAsUser.
USER 1000:1000
EXPOSE 8080 3000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
