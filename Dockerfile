# Drover images. The default target serves every role (coordinator, agent, migrate): the role
# is the first argument. (`drover dev` is meant for a workstation, not an image.) The `coordinator` and `agent` targets start that role by default.
#   docker build -t drover .                                  docker run --rm drover --help
#   docker build --target coordinator -t drover-coordinator .  docker run -e DROVER_DATABASE_URL=… -e DROVER_BOOTSTRAP_TOKEN=$(openssl rand -hex 32) drover-coordinator
#   (the coordinator requires API tokens: it refuses to start on 0.0.0.0 without one)
#   docker build --target agent -t drover-agent .              docker run -e DROVER_NATS_URL=… drover-agent

FROM node:22-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is cached until a package.json or the lockfile changes.
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages/shared/package.json packages/shared/
# Every workspace the root package.json names: npm ci links them, and the dashboard's build tools come from its own.
COPY packages/client/package.json packages/client/
COPY packages/dashboard/package.json packages/dashboard/
COPY packages/coordinator/package.json packages/coordinator/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund
COPY packages packages
COPY migrations migrations
RUN npm run build && npm prune --omit=dev

FROM node:22-slim AS runtime
ENV NODE_ENV=production \
    DROVER_STATE_DIR=/var/lib/drover
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages packages
COPY --from=build /app/migrations migrations
RUN mkdir -p /var/lib/drover && chown node:node /var/lib/drover
USER node
EXPOSE 7400
ENTRYPOINT ["node", "packages/cli/bin/drover.js"]

FROM runtime AS coordinator
CMD ["coordinator", "--api-addr", "0.0.0.0:7400"]

FROM runtime AS agent
# An agent needs NATS only (DROVER_NATS_URL); its id is kept in /var/lib/drover (mount a volume).
CMD ["agent"]

FROM runtime AS all
CMD ["--help"]
