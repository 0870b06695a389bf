#!/usr/bin/env bash
# The one-shot GPU check (issue 7), for one call of a lent GPU machine (under 8 minutes):
#   parity of every CUDA op against the CPU backend (op-table and tiled cases, poisoned outputs, NaN
#   checks), the GPU benchmarks beside PyTorch's on the same card from the same run, then
#   compute-sanitizer (memcheck) on the parity suite; a short table last, everything under $OUT.
#
# Prepare on the development machine first (builds the addon, compiles the JS, packs node):
#   bash bench/gpu/prepare.sh
# then run this there, carrying what prepare.sh printed, e.g. with the device tool:
#   run(command="bash bench/gpu/check.sh", carry=[build/Release, build/gpu-js, build/gpu, node_modules/zod,
#       node_modules/node-addon-api, node_modules/node-api-headers], timeout_s=560)
# The GPU machine has CUDA 13, CMake and PyTorch but maybe no Node.js: the carried build/gpu/node.xz
# is unpacked when `node` is missing; the carried addon is rebuilt there with CMake if it won't load.
# CHECK_ONLY=parity stops after the parity suite and the sanitizer (a quick rerun after a fix).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
exec > >(tee "$OUT/check.log") 2>&1
start=$SECONDS
step() { echo; echo "== [$((SECONDS - start)) s] $*"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv || true
nvcc --version 2>/dev/null | tail -1 || true
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' || true

step "node"
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  NODE=/tmp/metacot-node
  if command -v xz >/dev/null; then xz -dc build/gpu/node.xz > "$NODE"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' build/gpu/node.xz "$NODE"; fi
  chmod +x "$NODE"
fi
"$NODE" --version || { echo "check: no usable node"; exit 2; }

export METACOT_ADDON_DIR=$PWD/build/Release METACOT_DEVICE=cuda
# exit 0: CUDA in use; 3: the CUDA addon did not load (rebuild it here); 4: it loaded but no device is usable
probe() { METACOT_DEVICE=auto "$NODE" -e "import('$PWD/build/gpu-js/src/native/loader.js').then((m) => { const b = m.loadBackend(); console.log('backend', b.device, JSON.stringify(b.info.cuda ?? {}), b.fallbackReasons.join('; ')); process.exit(b.device === 'cuda' ? 0 : b.fallbackReasons.some((r) => /loaded but/.test(r)) ? 4 : 3); }, (e) => { console.error(e.message); process.exit(3); })"; }
step "addon"
probe
probe_rc=$?
if [ $probe_rc -eq 4 ]; then echo "check: the CUDA addon loads but no device is usable (see above)"; exit 2; fi
if [ $probe_rc -ne 0 ]; then
  step "the carried addon does not load here: rebuilding with CMake"
  PATH="$(dirname "$NODE"):$PATH" cmake -S . -B build/gpu-rebuild -DCMAKE_BUILD_TYPE=Release -DMETACOT_CUDA=on \
    -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" >/dev/null &&
    cmake --build build/gpu-rebuild -j "$(nproc)" >"$OUT/rebuild.log" 2>&1 || { tail -30 "$OUT/rebuild.log"; exit 2; }
  export METACOT_ADDON_DIR=$PWD/build/gpu-rebuild
  [ -f build/gpu-rebuild/metacot_cuda.node ] || export METACOT_ADDON_DIR=$PWD/build/gpu-rebuild/Release
  probe || exit 2
fi

OPS="$NODE build/gpu-js/bench/gpu/ops.js --shapes bench/gpu/shapes.json"
# Time budget (~480 s in all): parity 60, [SIMT parity 40 only if attention failed], sanitizer 60,
# PyTorch peer 100, ours 210 (the model's PyTorch peer inside: eager 60, compile 100).
step "parity: every CUDA op against the CPU"
timeout 60 $OPS --parity-only --out "$OUT" | tee "$OUT/parity.log" | grep -v '^PASS'
parity_rc=${PIPESTATUS[0]}
echo "parity: $(grep -c '^PASS' "$OUT/parity.log") passed, $(grep -c '^FAIL' "$OUT/parity.log") failed (rc $parity_rc)"
if grep -q '^FAIL attention' "$OUT/parity.log"; then
  step "parity again with the fp32 SIMT attention path (METACOT_ATTN_CUDA=simt): tells the mask plumbing from the tensor-core path"
  METACOT_ATTN_CUDA=simt timeout 40 $OPS --parity-only --out "$OUT/simt" | grep -v '^PASS' | grep -i attention
fi

sanitizer="not run (compute-sanitizer missing)"
if command -v compute-sanitizer >/dev/null; then
  step "compute-sanitizer memcheck on the parity suite"
  if timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 $OPS --parity-only --out "$OUT/sanitizer" > "$OUT/sanitizer.log" 2>&1; then
    sanitizer="memcheck clean"
  else
    sanitizer="memcheck rc $? (124 = out of time; see sanitizer.log)"
  fi
  grep -E "ERROR SUMMARY|Invalid|out of bounds" "$OUT/sanitizer.log" | head -5
fi

if [ "${CHECK_ONLY:-}" = parity ]; then
  step "summary ($((SECONDS - start)) s, CHECK_ONLY=parity)"
  echo "parity rc $parity_rc, compute-sanitizer: $sanitizer"
  exit "$parity_rc"
fi

step "PyTorch peer: matmul, SDPA / flex_attention with our mask, copy bandwidth"
timeout 100 python3 bench/gpu/peers/torch_gpu.py bench/gpu/shapes.json "$OUT/peer.json"

step "ours: benchmarks, the model (CUDA vs CPU step, training step and MFU, PyTorch eager / compile), table"
timeout 210 $OPS --out "$OUT" --peer "$OUT/peer.json" --parity-from "$OUT/ours.json" > "$OUT/ours.log" 2>&1
ours_rc=$?
grep -v '^PASS' "$OUT/ours.log" | head -80

step "summary ($((SECONDS - start)) s)"
echo "parity rc $parity_rc, bench rc $ours_rc, compute-sanitizer: $sanitizer"
cat "$OUT/summary.txt" 2>/dev/null || echo "no summary (ours.log tail above)"
