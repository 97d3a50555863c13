# The platform image for docker-compose.yml: the checkout plus its npm dependencies, with the
# product compiled to dist/ by `npm ci` (its prepare script); it runs JavaScript, no TypeScript compiler.
FROM node:20-bookworm-slim
WORKDIR /app
# the sources and patches/ first: npm ci's postinstall applies the patches, its prepare builds dist/
COPY . .
RUN npm ci --omit=dev
USER node
ENTRYPOINT []
CMD ["node", "bin/millrace.js", "api"]
