# Damson in a container: Node 20 with the media tools previews and metadata need.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg poppler-utils perl python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# npm ci also builds dist/ (the server and the web client); the build tools are dropped afterwards.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev && mkdir -p /data && chown node /data
ENV DAMSON_HOST=0.0.0.0 DAMSON_DATA_DIR=/data
EXPOSE 8080
USER node
CMD ["node", "bin/damson.js", "serve"]
