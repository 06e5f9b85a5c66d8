# zkcredits web app (packages/web, Next.js 15): the production build served by `next start`.
#
#   docker build -f docker/web.Dockerfile -t zkcredits-web .        # from the repository root
#
# Configured at run time, never at build time (the image works for any deployment):
#   ZKC_DEPLOYMENT  the deployment manifest, mounted read-only (chain, CreditPool, token)
#   ZKC_SERVER_URL  the API server the same-origin /api/zk/* pass-through calls (internal URL)
#   ZKC_RPC_URL     the public JSON-RPC URL browsers read the chain with
#   CRS_PATH        the CRS folder the app serves to browsers for proving (mounted at /crs)
#   ZKC_WALLETCONNECT_PROJECT_ID (optional)
# See docker/compose.yml and docs/DEPLOY.md. The test wallet is never in this build (it exists
# only in builds made with ZKC_TEST_WALLET=1).

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 (through the web tests' dev dependency on @zkcredits/server) may compile.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY packages/core/package.json packages/core/package.json
COPY packages/attest/package.json packages/attest/package.json
COPY packages/web/package.json packages/web/package.json
# The web package's dev dependencies (types, and its tests' workspaces) are needed to build:
# `next build` type-checks. npm needs the manifests of the workspaces it links.
COPY packages/server/package.json packages/server/package.json
COPY packages/venice-sim/package.json packages/venice-sim/package.json
RUN npm ci --workspace=@zkcredits/web --no-audit --no-fund --loglevel=error
COPY packages/core/src packages/core/src
COPY packages/attest/src packages/attest/src
COPY packages/web packages/web
ENV NEXT_TELEMETRY_DISABLED=1 \
    NEXT_IGNORE_INCORRECT_LOCKFILE=1
RUN npm run build --workspace=@zkcredits/web && rm -rf packages/web/.next/cache

# Run-time dependencies only: the web workspace's production dependencies, locked versions.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/core/package.json packages/core/package.json
COPY packages/attest/package.json packages/attest/package.json
COPY packages/web/package.json packages/web/package.json
RUN npm ci --workspace=@zkcredits/web --omit=dev --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    CRS_PATH=/crs
WORKDIR /app
COPY --from=deps /app /app
COPY --from=build /app/packages/web/.next packages/web/.next
COPY packages/web/next.config.mjs packages/web/next.config.mjs
COPY packages/web/stubs packages/web/stubs
COPY packages/core/src packages/core/src
COPY packages/attest/src packages/attest/src
# The app finds the repository root by protocol/constants.json (relative ZKC_DEPLOYMENT / CRS_PATH);
# the circuit is bundled from core.
COPY protocol/constants.json protocol/constants.json
WORKDIR /app/packages/web
USER node
EXPOSE 3000
CMD ["node", "../../node_modules/next/dist/bin/next", "start", "-H", "0.0.0.0", "-p", "3000"]
