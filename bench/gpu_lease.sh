#!/usr/bin/env bash
# One lease of a GPU machine, prepared to fit its 15 minutes: install the carried wheels
# (.whl: the packages the machine's image lacks, bench/README.md), then measure the models of
# bench/gpu.py cheapest first, each stage under its own time limit so that a slow stage costs
# only itself. Results and logs go to $OUT (the device tool brings them back).
set -u
OUT=${OUT:-bench/results/lease}
WEIGHTS=${WEIGHTS:-/tmp/openreel-weights}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c "import torch, diffusers, transformers, cv2, av; print('torch', torch.__version__, \
'diffusers', diffusers.__version__, 'transformers', transformers.__version__, 'cv2', \
cv2.__version__, 'av', av.__version__)"
  df -h /tmp | tail -1
} 2>&1 | tee "$OUT/device.txt"

stage() {  # stage SECONDS NAME gpu.py-arguments...
  local seconds=$1 name=$2
  shift 2
  local started=$SECONDS
  timeout "$seconds" python3 bench/gpu.py --weights-dir "$WEIGHTS" --out "$OUT/$name.json" "$@" \
    >"$OUT/$name.log" 2>&1
  echo "stage $name: exit $? after $((SECONDS - started)) s" | tee -a "$OUT/device.txt"
  grep -E '^\{' "$OUT/$name.log"
  grep -v -E '^\{' "$OUT/$name.log" | grep -v -i warn | tail -4
}

stage "${LTX_S:-200}" ltx --models ltx2b --options baseline --overhead-tasks 2
stage "${FLUX_S:-100}" flux --models flux2klein4b --options baseline --overhead-tasks 0
stage "${WAN_S:-250}" wan --models wan14b --sizes 480p --options baseline --overhead-tasks 0
