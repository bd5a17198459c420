# Outrider container image: Node 24, production dependencies only, no compilers, non-root by default.
#
#   bash scripts/dev.sh image      builds outrider:dev, also where no image registry is reachable (it then makes
#                                  the Node 24 base itself: scripts/image.sh); or: docker build -t outrider:dev .
#   Node agent (one per Docker host) and sidecar commands: README.md, docs/operations.md "Deploying".
#
# NODE_IMAGE builds (it needs npm); RUNTIME_IMAGE runs, the same image unless a leaner one without npm is given.
# No `# syntax=` line: BuildKit would fetch a frontend image from a registry.
ARG NODE_IMAGE=node:24-slim
ARG RUNTIME_IMAGE=${NODE_IMAGE}

# Production dependencies, in their own stage so that a source change reuses this layer. Neither optional
# dependencies nor install scripts: none is needed (ssh2's native crypto and cpu-features serve dockerode over SSH,
# which Outrider does not use), and none may need a compiler. Type definitions, source maps, TypeScript sources and
# Markdown are never loaded at run time: 22 of the 41 MB. extra-ca.pem (optional, never in the final image): a CA
# bundle npm trusts, for networks that re-sign TLS; scripts/image.sh passes the host's.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json extra-ca.pe[m] ./
RUN if [ -f extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/src/extra-ca.pem; fi \
 && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete \
 && rm -rf /root/.npm

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json extra-ca.pe[m] ./
RUN if [ -f extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/src/extra-ca.pem; fi \
 && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
# src only (no bench, no tests), no source maps (the TypeScript is not shipped); the CRI client's .proto beside its
# code (package.json's build does the same).
RUN node_modules/.bin/tsc -p tsconfig.build.json --sourceMap false && cp src/enrich/cri-runtime.proto dist/src/enrich/

FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production
WORKDIR /opt/outrider
COPY --from=deps /src/node_modules ./node_modules
COPY package.json ./
COPY config ./config
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/schemas ./dist/schemas
COPY config/sidecar.yaml /etc/outrider/sidecar.yaml
# State (checkpoints, disk buffers) and the default file sink live under /var/lib/outrider, a volume. A new named
# volume takes this directory's owner and mode: owner 10001 (the sidecar's default user), group 0, mode 0770, so
# that both the sidecar (uid 10001) and the node agent (uid 0 holding only CAP_DAC_READ_SEARCH, which does not
# bypass write permission; gid 0 does get the group's) can write it, and nobody else.
RUN mkdir -p /var/lib/outrider && chown 10001:0 /var/lib/outrider && chmod 0770 /var/lib/outrider
USER 10001:10001
VOLUME ["/var/lib/outrider"]
WORKDIR /var/lib/outrider
EXPOSE 8686
# Healthy = ready (GET /readyz on the admin address of the config the agent runs: `outrider healthcheck` finds it),
# so `docker ps` shows a blind or stuck agent as unhealthy, with the reason in `docker inspect`. Orchestrators that
# replace unhealthy containers (Swarm) should check liveness instead: --health-cmd '… healthcheck --live'.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/opt/outrider/dist/src/cli/entry.js", "healthcheck"]
# Memory settings (see docs/performance.md): with decoding in worker threads the main thread allocates little, so
# a small young generation; one malloc arena, or buffers freed by one thread keep another thread's arena resident;
# a fixed mmap threshold, so that freed event buffers go back to the system instead of fragmenting the heap;
# --optimize-for-size: V8 grows the three isolates' heaps less eagerly (http path, 1M lines: peak RSS 285-293 ->
# 178-180 MB at the same CPU per event).
ENV MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072
ENTRYPOINT ["node", "--max-semi-space-size=4", "--optimize-for-size", "/opt/outrider/dist/src/cli/entry.js"]
CMD ["run"]
