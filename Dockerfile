# Drover images. The default target serves every role (coordinator, agent, migrate): the role
# is the first argument. (`drover dev` is meant for a workstation, not an image.) The `coordinator` and `agent` targets start that role by default.
#   docker build -t drover .                                  docker run --rm drover --help
#   docker build --target coordinator -t drover-coordinator .  docker run -e DROVER_DATABASE_URL=… -e DROVER_BOOTSTRAP_TOKEN=$(openssl rand -hex 32) drover-coordinator
#   (the coordinator requires API tokens: it refuses to start on 0.0.0.0 without one)
#   docker build --target agent -t drover-agent .              docker run -e DROVER_NATS_URL=… -e DROVER_JOIN_TOKEN=… drover-agent
#   (the agent runs as root so that its jobs run as nobody: they cannot read its join token or key)

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
RUN install -d -m 0700 -o node -g node /var/lib/drover
USER node
EXPOSE 7400
ENTRYPOINT ["node", "packages/cli/bin/drover.js"]

FROM runtime AS coordinator
CMD ["coordinator", "--api-addr", "0.0.0.0:7400"]

FROM runtime AS agent
# An agent needs NATS only (DROVER_NATS_URL); its id and key are kept in /var/lib/drover (mount a
# volume). It runs as root and its jobs as nobody: a job running as the agent's user could read
# its join token and NATS password (/proc/<pid>/environ) and its key, so the agent refuses that
# unless DROVER_ALLOW_SAME_USER=true. Root drops every privilege when it starts a job.
USER root
RUN chown root:root /var/lib/drover
ENV DROVER_RUN_AS=nobody
CMD ["agent"]

FROM runtime AS all
CMD ["--help"]
