# Drover: one image for every role (coordinator, agent, migrate); the role is the first argument.
#   docker build -t drover .   then   docker run --rm drover --help

FROM node:22-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is cached until a package.json or the lockfile changes.
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/coordinator/package.json packages/coordinator/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund
COPY packages packages
COPY migrations migrations
RUN npm run build && npm prune --omit=dev

FROM node:22-slim
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
CMD ["--help"]
