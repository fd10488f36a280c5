# The proxy's production image: built once here, never at start. The build stage compiles dist/
# with the dev dependencies; the final stage has the runtime dependencies only (npm ci --omit=dev,
# the same set test/package.test.ts installs from the packed package and starts), the built dist/
# and bin/, and runs node on the entry point directly, so SIGTERM reaches the proxy, which drains.
# The configuration file is the task's: `--config FILE`, or CUTOVER_CONFIG naming it.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No lifecycle scripts yet: prepare would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY scripts scripts
COPY proxy proxy
COPY compare compare
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# glibc gives each thread (the comparison worker, libuv's pool) malloc arenas of its own; two in all
# kept the evidence soak's peak RSS at 293-299 MB against 315-344 MB (docs/performance.md).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own prepare builds, which this stage never does; no runtime
# dependency has an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/bin bin
COPY --from=build /src/dist dist
USER node
EXPOSE 8080 9901
# /readyz answers 200 while the proxy serves (degraded included: a broken group is served by
# legacy); the admin port listens on 0.0.0.0 in production, so 127.0.0.1 reaches it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/readyz').then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/proxy/cli.js"]
CMD ["start"]
