#!/usr/bin/env bash
# Builds Berth into dist/: TypeScript from proto/ (ts-proto), the descriptor set for server
# reflection, the services and libs (tsc, incremental), their SQL migrations, and the `berth`
# command line as one bundle (esbuild) so that it starts fast.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin

rm -rf libs/proto/gen
(cd proto && ../$bin/buf generate)
mkdir -p dist/proto
(cd proto && ../$bin/buf build -o ../dist/proto/berth.binpb)

$bin/tsc -p .

find libs services -name '*.sql' -print0 | while IFS= read -r -d '' file; do
  install -D -m 0644 "$file" "dist/$file"
done

# ESM with code splitting: a command loads only the chunks it imports. The banner gives bundled
# CommonJS packages the require() that ESM lacks.
rm -rf dist/bin
$bin/esbuild berth=cli/main.ts --bundle --platform=node --target=node20 --format=esm --splitting \
  --outdir=dist/bin --out-extension:.js=.mjs --chunk-names=chunks/[name]-[hash] --log-level=warning \
  --banner:js="#!/usr/bin/env node
import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" \
  --external:pino-pretty --external:pino --external:pg-native --external:@grpc/proto-loader --external:protobufjs
chmod +x dist/bin/berth.mjs
