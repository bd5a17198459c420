# syntax=docker/dockerfile:1
# Outrider container image: multi-stage, Node 24 slim, production dependencies only, non-root by default.
#
#   docker build -t outrider .
#   Sidecar (reads a log volume shared with the app; non-root):
#     docker run -v app-logs:/var/log/app:ro -v outrider-data:/var/lib/outrider outrider run --config /etc/outrider/sidecar.yaml
#   Node agent (reads /var/lib/docker/containers, which Docker keeps root-only): see docs/operations.md "Deploying" for the least
#   rights it needs (uid 0 with every capability dropped but CAP_DAC_READ_SEARCH, read-only mounts).

FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /opt/outrider
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY schemas ./schemas
COPY config ./config
# State (checkpoints, disk buffers) and the default file sink live under /var/lib/outrider.
RUN mkdir -p /var/lib/outrider && chown 10001:10001 /var/lib/outrider
USER 10001:10001
VOLUME ["/var/lib/outrider"]
WORKDIR /var/lib/outrider
EXPOSE 8686
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8686/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Memory settings (see docs/performance.md): with decoding in worker threads the main thread allocates little, so
# a small young generation; one malloc arena, or buffers freed by one thread keep another thread's arena resident;
# a fixed mmap threshold, so that freed event buffers go back to the system instead of fragmenting the heap.
ENV MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072
ENTRYPOINT ["node", "--max-semi-space-size=4", "/opt/outrider/dist/src/cli/main.js"]
CMD ["run", "--config", "/opt/outrider/config/outrider.yaml"]
