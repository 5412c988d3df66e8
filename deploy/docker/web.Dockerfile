# syntax=docker/dockerfile:1.7
#
# The browser SPA: `vite build` of web/, served by unprivileged nginx on 8080.
#
#   docker build -f deploy/docker/web.Dockerfile -t majlis/web:0.1.0 .
#
# The build context is the repository root (see /.dockerignore).

ARG NODE_IMAGE=node:22-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.27-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,id=majlis-npm,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM ${NGINX_IMAGE}
COPY deploy/docker/web-nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /web/dist /usr/share/nginx/html
# nginx-unprivileged: uid 101, pid and temp files under /tmp, so the root
# filesystem can be read-only when /tmp is a writable volume.
USER 101
EXPOSE 8080
