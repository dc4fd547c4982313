# syntax=docker/dockerfile:1
#
# Bootgate container image (deploy/README-ops.md has the `docker run` and compose examples).
#
#   toolchain  node + the native addon toolchain + the lock file
#   build      all dependencies, TypeScript compiled into dist/
#   deps       production dependencies only; native addons compiled here, where the toolchain is
#   runtime    node:20-bookworm-slim + deps' node_modules + build's dist/daemon, as user bootgate
#
# There is no Docker engine in CI: test/e2e/ops-docker-steps.test.ts performs these steps on a clean
# checkout (every RUN in order, the COPYs, then the ENTRYPOINT/CMD and HEALTHCHECK as user nobody).
# It knows these kinds of RUN step: apt-get, npm, setcap, groupadd/useradd, mkdir, chown, rm of apt
# lists. A new kind of step makes that test fail until it is taught the step.

FROM node:20-bookworm-slim AS toolchain
# better-sqlite3 falls back to a node-gyp build from source when no prebuilt binary matches the
# platform: that needs python3, make and g++. koffi ships prebuilt binaries inside its npm package.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

FROM toolchain AS build
# The npm cache lives in a BuildKit cache mount, never in a layer.
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json ./
COPY daemon ./daemon
RUN npm run build

FROM toolchain AS deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM node:20-bookworm-slim AS runtime
# File capabilities for node, because Docker gives a non-root USER nothing from --cap-add: added
# capabilities only reach the bounding set, and a non-root process gains them through file capabilities
# (or ambient ones, which Docker does not set; moby/moby#8460). CAP_NET_BIND_SERVICE binds UDP 67, 69
# and HTTP ports below 1024. CAP_NET_RAW is left out on purpose: since Linux 5.7 any user may set
# SO_BINDTODEVICE on a socket not yet bound to a device, which is all the daemon does. For older
# kernels build with --build-arg NODE_FILE_CAPS=cap_net_bind_service,cap_net_raw=+ep and run with
# --cap-add NET_RAW. An "+ep" file capability outside the container's bounding set makes exec fail,
# so `--cap-drop ALL` must be paired with `--cap-add NET_BIND_SERVICE`.
ARG NODE_FILE_CAPS=cap_net_bind_service=+ep
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin ieee-data \
 && setcap "${NODE_FILE_CAPS}" /usr/local/bin/node \
 && apt-get purge -y libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10067 bootgate \
 && useradd --system --uid 10067 --gid bootgate --home-dir /data --no-create-home --shell /usr/sbin/nologin bootgate \
 && mkdir -p /boot /data /config \
 && chown bootgate:bootgate /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/daemon ./dist/daemon
# The console's page files (HTML, CSS, script) are served from beside its source, not compiled.
COPY --from=build /app/daemon/features/console/static ./daemon/features/console/static
# package.json says "type": "module": node needs it to load dist/ as ES modules.
COPY package.json ./
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# The default configuration; a mounted /config replaces it (docker initialises a named volume from it).
COPY deploy/bootgate.container.yaml /config/bootgate.yaml
ENV NODE_ENV=production
VOLUME ["/boot", "/data", "/config"]
USER bootgate
# The image's config names the /boot and /data volumes by absolute path; a config file of your own
# does the same (relative paths in a config file are taken from its folder, /config).
WORKDIR /
EXPOSE 67/udp 4011/udp 69/udp 8080/tcp
# The daemon finishes transfers for up to 30 s after SIGTERM: give it that (docker stop -t 35).
STOPSIGNAL SIGTERM
# /readyz: sockets bound, boot root readable, store open, unknown machines' profile complete. The check reads /config/bootgate.yaml and the
# BOOTGATE_* variables the way the daemon does, so it asks the HTTP address and port actually in use.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs", "/config/bootgate.yaml"]
ENTRYPOINT ["node", "/app/dist/daemon/bootgate.js"]
CMD ["serve", "--config", "/config/bootgate.yaml"]
