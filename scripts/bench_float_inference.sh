#!/bin/sh
# Float inference throughput on the ImageNet MobileNet v1 0.25: our runtime
# (zp_graph_run, batch 50, 2 OpenMP threads, random inputs: JPEG decoding is
# excluded) and, when python3-torch and python3-onnx are installed, PyTorch on an
# equivalent module built from the same ONNX weights, side by side.
#
# usage: scripts/bench_float_inference.sh [MODEL.onnx] [BATCH] [THREADS]
#   BUILD=build/release (the build whose libzp.a is linked), REPS=20
# Prints one line per engine: images/s (mean and best batch, wall clock) and
# images per CPU-second (stable on a machine shared with other jobs).
set -e
cd "$(dirname "$0")/.."
DATA=${ZP_SHARED_DATA:-../shared/data}/imagenet
MODEL=${1:-$DATA/models/mobilenet_v1_0.25_224.onnx}
BATCH=${2:-50}
THREADS=${3:-2}
REPS=${REPS:-20}
BUILD=${BUILD:-build/release}
[ -f "$MODEL" ] || { echo "bench_float_inference: model '$MODEL' not found" >&2; exit 1; }
[ -f "$BUILD/libzp.a" ] || make --no-print-directory BUILD="$BUILD" "$BUILD/libzp.a" >&2
BIN=$BUILD/scripts/bench_float_inference
mkdir -p "$(dirname "$BIN")"
${CC:-gcc} -std=c11 -O2 -fopenmp -I. -I"$BUILD/gen" scripts/bench_float_inference.c "$BUILD/libzp.a" \
    -o "$BIN" -lprotobuf-c -lopenblas -lm
echo "model: $MODEL, batch $BATCH, $THREADS threads, $REPS batches; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=$THREADS "$BIN" "$MODEL" "$BATCH" "$REPS"
if /usr/bin/python3 -c "import torch, onnx" 2>/dev/null; then
    GOLD="$DATA/golden"
    set -- --batch "$BATCH" --threads "$THREADS" --reps "$REPS"
    [ -f "$GOLD/golden_logits_f32_9x1000.bin" ] && set -- "$@" \
        --golden-input "$GOLD/golden_input_u8_nhwc_9x224x224x3.bin" \
        --golden-logits "$GOLD/golden_logits_f32_9x1000.bin"
    /usr/bin/python3 -W ignore scripts/bench_torch_mobilenet.py "$MODEL" "$@"
else
    echo "pytorch: not installed (apt-get install python3-torch python3-onnx)"
fi
