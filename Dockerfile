# The platform image for docker-compose.yml: the checkout plus its npm dependencies, run with tsx.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev
COPY . .
USER node
ENTRYPOINT []
CMD ["node", "bin/millrace.js", "api"]
