#!/usr/bin/env bash
# The GPU figures in one prepared run (issue #19 point 6): training, sampling and
# one-image style transfer against their textbook references on a CUDA device, with
# bf16, channels_last and torch.compile. Made for the `device` tool's machine (its own
# python3 with torch, nothing to download): installs artkit without dependencies, then
# runs each benchmark under its own time limit so one failure does not cost the rest.
#
# Usage (repo root): bash benchmarks/gpu.sh [OUT_DIR]   -- the log goes to OUT_DIR/gpu.log
set -u
out=${1:-${OUT:-/tmp}}
log="$out/gpu.log"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
step() {  # step SECONDS TITLE COMMAND...: run with a limit, log everything, never stop the script
    local limit=$1 title=$2
    shift 2
    echo "=== $title ($(date +%T), limit ${limit}s)"
    local t0=$SECONDS
    timeout "$limit" "$@" 2>&1
    echo "=== rc $? after $((SECONDS - t0)) s"
}
{
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    $py -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'
    step 60 "install artkit (no deps)" $py -m pip install -q --no-deps --no-build-isolation --no-cache-dir -e .
    step 60 "artkit train on cuda (end to end)" $py -m artkit --device cuda train dcgan:resolution=32 \
        --data shapes --steps 200 --log-every 100 -o /tmp/gpu-run
    step 100 "train_gan 64 px batch 64" $py benchmarks/train_gan.py --device cuda \
        --configs default,fp32,bf16-cl --steps 40 --interval 10 --warmup 10 --rounds 2
    step 60 "train_gan 64 px batch 256" $py benchmarks/train_gan.py --device cuda --batch 256 \
        --configs default,bf16-cl --steps 20 --interval 10 --warmup 10 --rounds 2
    step 100 "train_gan 64 px batch 64, compiled step" $py benchmarks/train_gan.py --device cuda \
        --configs compile --steps 40 --interval 10 --warmup 10 --rounds 1
    step 90 "sample -n 2000" $py benchmarks/sample.py --device cuda -n 2000 --repeats 3
    step 120 "stylize 512 px, one image" $py benchmarks/stylize.py --device cuda --rounds 20 \
        --configs fp32,bf16-cl,compile-bf16-cl,auto-1,auto-many
} 2>&1 | tee "$log"
