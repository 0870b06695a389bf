#!/usr/bin/env bash
# Prepares the one-shot GPU check (bench/gpu/check.sh) on the development machine: builds the addon
# (CPU + CUDA for sm_80 / sm_90a), compiles bench/gpu/ops.ts and the src/ it needs to plain JS, and
# packs this machine's node binary (xz) in case the GPU machine has none. Prints what to carry.
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/build-addon.mjs
[ -f build/Release/metacot_cuda.node ] || { echo "prepare: the CUDA addon was not built (is nvcc on PATH?)"; exit 1; }
rm -rf build/gpu-js
npx tsc -p bench/gpu/tsconfig.json
mkdir -p build/gpu
NODE_BIN=$(readlink -f "$(command -v node)")
if [ ! -f build/gpu/node.xz ] || [ "$NODE_BIN" -nt build/gpu/node.xz ]; then
  xz -T0 -6 -c "$NODE_BIN" > build/gpu/node.xz.tmp && mv build/gpu/node.xz.tmp build/gpu/node.xz
fi
du -sh build/Release build/gpu-js build/gpu node_modules/zod node_modules/node-addon-api node_modules/node-api-headers
echo 'carry: ["build/Release", "build/gpu-js", "build/gpu", "node_modules/zod", "node_modules/node-addon-api", "node_modules/node-api-headers"]'
echo 'command: bash bench/gpu/check.sh   (timeout_s 560)'
