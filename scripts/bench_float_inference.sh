#!/bin/sh
# Float inference throughput of our runtime (zp_graph_run) against ONNX Runtime
# (npm onnxruntime-node, CPU execution provider, installed into $BUILD/npm by
# scripts/install-npm.sh) and, when python3-torch and python3-onnx are installed,
# PyTorch on an equivalent module built from the same ONNX weights. Batch 50 of
# random inputs (JPEG decoding excluded), two warm-up batches, REPS timed batches,
# at each thread count, for each model (default: MobileNet v1 0.25 and MobileNet
# v2 1.0, the "_qat" file: both v2 files have the same graph, only weights differ).
#
# usage: scripts/bench_float_inference.sh [MODEL.onnx ...]
#   THREADS="1 2"  BATCH=50  REPS=10  ROUNDS=3  BUILD=build/release
#   ENGINES="zeropoint onnxruntime pytorch" (a subset skips the others)
#   ORT_SPIN=1 (0: ORT's idle intra-op threads sleep instead of spinning)
#   TORCH_LAYOUTS=channels_last (or channels_last,nchw: NCHW was always slower here)
#   HOOKED=1 also times our node-by-node schedule (the per-layer hooks' one)
#   engine integer: our integer program (model/int_graph.h) on the same model, by
#   scripts/bench_int_inference.c (symmetric narrow per-channel int8 weights,
#   asymmetric uint8 activations fitted to the random inputs; its ratio to ours
#   float per CPU-second goes in the table's last column)
#   engine ort-int8: ONNX Runtime on our QDQ export (harness export) of each cell
#   of QDQ_CELLS ("tag=label|tag=label") of QDQ_CONFIG, for the model that config
#   names (default: asymmetric and symmetric 8-bit per-channel of
#   configs/imagenet_mobilenet_v1.json, MobileNet v1 0.25); its own table at the end
# Each round runs every (model, threads) cell once per engine, engines in
# alternating order, so slow phases of a shared machine hit all engines alike;
# the table gives the median over rounds of images per CPU-second (the figure
# that stays stable when other jobs take cores away) and of images/s (wall), and
# the ratios ours / ORT and ours / PyTorch per CPU-second.
# Language models: LM_MODELS (default: stories260K of the shared TinyStories data,
# when present; LM_MODELS="" leaves them out; a model given as an argument is
# timed as a language model only when LM_MODELS lists it) run after the others with LM_BATCH
# windows (default 4) and LM_REPS timed batches (default 3) of token ids; their
# rows, "<model>:tok", are in tokens per CPU-second (tokens/s wall) = windows x
# tokens_per_window. PyTorch (its script builds MobileNets) and the integer program
# (no integer path for token-row MatMuls) do not run them.
set -e
cd "$(dirname "$0")/.."
DATA=${ZP_SHARED_DATA:-../shared/data}/imagenet
THREADS=${THREADS:-1 2}
BATCH=${BATCH:-50}
REPS=${REPS:-10}
ROUNDS=${ROUNDS:-3}
BUILD=${BUILD:-build/release}
ENGINES=${ENGINES:-zeropoint onnxruntime pytorch}
ORT_SPIN=${ORT_SPIN:-1}
TORCH_LAYOUTS=${TORCH_LAYOUTS:-channels_last}
[ $# -gt 0 ] || set -- "$DATA/models/mobilenet_v1_0.25_224.onnx" \
    "$DATA/models/mobilenet_v2_1.0_224_qat.onnx"
LM_DEFAULT=${ZP_SHARED_DATA:-../shared/data}/tinystories/stories260K.onnx
[ -f "$LM_DEFAULT" ] || LM_DEFAULT=""
LM_MODELS=${LM_MODELS-$LM_DEFAULT}
LM_BATCH=${LM_BATCH:-4}
LM_REPS=${LM_REPS:-3}
is_lm() { case " $LM_MODELS " in *" $1 "*) return 0 ;; esac; return 1; }
for m in $LM_MODELS; do # appended unless given already (paths without spaces)
    case " $* " in *" $m "*) ;; *) set -- "$@" "$m" ;; esac
done
for m in "$@"; do
    [ -f "$m" ] || { echo "bench_float_inference: model '$m' not found" >&2; exit 1; }
done
has() { case " $ENGINES " in *" $1 "*) return 0 ;; esac; return 1; }
QDQ_CONFIG=${QDQ_CONFIG:-configs/imagenet_mobilenet_v1.json}
QDQ_CELLS=${QDQ_CELLS:-asym=asymmetric 8b per-channel nudge_zero=true|sym=symmetric 8b per-channel narrow_range=false}

# our bench programs against the library (scripts/bench_common.h: their protocol)
build_bench() { # name
    [ -f "$BUILD/libzp.a" ] || make --no-print-directory BUILD="$BUILD" "$BUILD/libzp.a" >&2
    mkdir -p "$BUILD/scripts"
    ${CC:-gcc} -std=c11 -O2 -fopenmp -I. -I"$BUILD/gen" "scripts/$1.c" \
        "$BUILD/libzp.a" -o "$BUILD/scripts/$1" -lprotobuf-c -lopenblas -lm
}
BIN=$BUILD/scripts/bench_float_inference
IBIN=$BUILD/scripts/bench_int_inference
if has zeropoint; then build_bench bench_float_inference; fi
if has integer; then build_bench bench_int_inference; fi
if has onnxruntime; then
    if scripts/install-npm.sh; then
        NODE_PATH=$(pwd)/$BUILD/npm/node_modules
        export NODE_PATH
    else
        echo "onnxruntime: not available (see install-npm's message above); timing the others"
        ENGINES=$(echo " $ENGINES " | sed 's/ onnxruntime / /')
    fi
fi
# ort-int8: export the QDQ models once (ONNX Runtime itself comes with the
# onnxruntime engine's install above, or here)
QDQ_DIR=$BUILD/qdq
if has ort-int8; then
    [ -n "${NODE_PATH:-}" ] || { scripts/install-npm.sh && NODE_PATH=$(pwd)/$BUILD/npm/node_modules && export NODE_PATH; }
    make --no-print-directory -s BUILD="$BUILD" "$BUILD/bin/harness" >&2
    mkdir -p "$QDQ_DIR"
    QDQ_MODEL=""
    echo "$QDQ_CELLS" | tr '|' '\n' | while IFS='=' read -r tag label; do
        "$BUILD/bin/harness" export "$QDQ_CONFIG" --data "$DATA" --cell "$label" --quiet \
            --out "$QDQ_DIR/$tag.onnx" || { echo "ort-int8: export of '$label' failed" >&2; exit 1; }
    done
    QDQ_MODEL=$(sed -n 's/.*"path": *"@data\/models\/\([^"]*\)\.onnx".*/\1/p' "$QDQ_CONFIG" | head -n 1)
fi
if has pytorch && ! /usr/bin/python3 -c "import torch, onnx" 2>/dev/null; then
    echo "pytorch: not installed (apt-get install python3-torch python3-onnx); timing the others"
    ENGINES=$(echo " $ENGINES " | sed 's/ pytorch / /')
fi

RES=$(mktemp)
trap 'rm -f "$RES"' EXIT
# one result line: model threads engine images_per_s_mean images_per_cpu_s; a
# language model's line (tokens_per_window=T) becomes "model:tok" in tokens
record() {
    sed -n 's/.*images_per_s_mean=\([0-9.]*\).*images_per_cpu_s=\([0-9.]*\).*/\1 \2 &/p' |
        while read -r wall cpu line; do
            t=$(echo "$line" | sed -n 's/.*tokens_per_window=\([0-9]*\).*/\1/p')
            if [ -n "$t" ]; then
                echo "$1:tok $2 $3 $(echo "$wall $cpu $t" | awk '{printf "%.1f %.1f", $1 * $3, $2 * $3}')" >>"$RES"
            else
                echo "$1 $2 $3 $wall $cpu" >>"$RES"
            fi
        done
}
# the golden-check arguments for a model that has golden logits (MobileNet v1
# 0.25 only; the paths have no spaces)
golden() {
    GOLD=$DATA/golden
    [ "$1" = mobilenet_v1_0.25_224 ] && [ -f "$GOLD/golden_logits_f32_9x1000.bin" ] &&
        echo "--golden-input $GOLD/golden_input_u8_nhwc_9x224x224x3.bin" \
            "--golden-logits $GOLD/golden_logits_f32_9x1000.bin"
    return 0
}
# an engine that could not run a cell: its last words, and "failed" in the table
failed() { # engine model threads output
    echo "$1: FAILED on $2 at $3 threads: $(echo "$4" | tail -n 1)"
    echo "$2 $3 $1 failed failed" >>"$RES"
}
run_engine() { # engine model threads
    name=$(basename "$2" .onnx)
    BATCH=$BATCH0 REPS=$REPS0
    if is_lm "$2"; then
        BATCH=$LM_BATCH REPS=$LM_REPS
        case $1 in pytorch | integer) return 0 ;; esac
    fi
    case $1 in
    zeropoint)
        hooked=""
        [ "${HOOKED:-0}" = 1 ] && hooked=hooked
        if ! out=$(OMP_NUM_THREADS=$3 "$BIN" "$2" "$BATCH" "$REPS" $hooked 2>&1); then
            failed zeropoint "$name" "$3" "$out"
            return 0
        fi
        echo "$out"
        echo "$out" | grep '^zeropoint ' | record "$name" "$3" zeropoint ;;
    integer)
        if ! out=$(OMP_NUM_THREADS=$3 "$IBIN" "$2" "$BATCH" "$REPS" 2>&1); then
            failed integer "$name" "$3" "$out"
            return 0
        fi
        echo "$out"
        echo "$out" | grep '^integer ' | record "$name" "$3" integer ;;
    onnxruntime)
        threads=$3
        set -- "$2" --batch "$BATCH" --threads "$3" --reps "$REPS" --spin "$ORT_SPIN"
        # shellcheck disable=SC2046 # golden's words are separate arguments
        [ "$round" = 1 ] && [ "$threads" = 1 ] && set -- "$@" --providers $(golden "$name")
        out=$(node scripts/bench_ort.js "$@" 2>&1) || { failed onnxruntime "$name" "$threads" "$out"; return 0; }
        echo "$out"
        echo "$out" | grep '^onnxruntime [0-9]' | record "$name" "$threads" onnxruntime ;;
    ort-int8) # the QDQ exports of QDQ_MODEL only
        [ "$name" = "$QDQ_MODEL" ] || return 0
        for f in "$QDQ_DIR"/*.onnx; do
            tag=$(basename "$f" .onnx)
            out=$(node scripts/bench_ort.js "$f" --batch "$BATCH" --threads "$3" --reps "$REPS" \
                --spin "$ORT_SPIN" 2>&1) || { failed "ort-int8-$tag" "$name" "$3" "$out"; continue; }
            echo "ort-int8-$tag $out"
            echo "$out" | grep '^onnxruntime [0-9]' | record "$name" "$3" "ort-int8-$tag"
        done ;;
    pytorch)
        threads=$3
        set -- "$2" --batch "$BATCH" --threads "$3" --reps "$REPS" --layouts "$TORCH_LAYOUTS"
        # shellcheck disable=SC2046 # golden's words are separate arguments
        [ "$round" = 1 ] && set -- "$@" $(golden "$name")
        out=$(/usr/bin/python3 -W ignore scripts/bench_torch_mobilenet.py "$@" 2>&1) ||
            { failed pytorch "$name" "$threads" "$out"; return 0; }
        echo "$out"
        # the table takes the faster timed layout of each run
        echo "$out" | grep '^pytorch ' | sort -t= -k6 -n -r | head -n 1 | record "$name" "$threads" pytorch ;;
    esac
}

echo "batch $BATCH, $REPS batches per timing, $ROUNDS rounds, engines:$ENGINES; $(nproc) cores;" \
    "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
[ -z "$LM_MODELS" ] || echo "language models ($LM_MODELS): batch $LM_BATCH windows, $LM_REPS batches per timing"
BATCH0=$BATCH REPS0=$REPS
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for model in "$@"; do
        for t in $THREADS; do
            echo "--- round $round: $(basename "$model"), $t threads; load average:" \
                "$(cut -d' ' -f1-3 /proc/loadavg)"
            order=$ENGINES
            [ $((round % 2)) = 0 ] && order=$(echo "$ENGINES" | tr ' ' '\n' | sed '/^$/d' | sed -n '1!G;h;$p')
            for e in $order; do
                run_engine "$e" "$model" "$t"
            done
        done
    done
    round=$((round + 1))
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# median over rounds per (model, threads, engine), then the table
awk -v rounds="$ROUNDS" '
function median(list,   n, v, i, j, x) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) { x = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function cell(k) { return (k in cpu) ? sprintf("%7.1f (%6.1f)", median(cpu[k]), median(wall[k])) : \
                   ((k in bad) ? sprintf("%16s", "failed") : sprintf("%16s", "-")) }
function ratio(a, b) { return (a in cpu && b in cpu) ? sprintf("%8.2f", median(cpu[a]) / median(cpu[b])) : sprintf("%8s", "-") }
{
    k = $1 SUBSEP $2 SUBSEP $3
    if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; rows[++nrows] = $1 SUBSEP $2 }
    if ($4 == "failed") { bad[k] = 1; next }
    wall[k] = wall[k] " " $4; cpu[k] = cpu[k] " " $5
}
END {
    printf "\nimages per CPU-second (images/s wall), median of %d rounds; ratios per CPU-second;\n", rounds
    printf "rows <model>:tok (language models): tokens per CPU-second (tokens/s wall)\n"
    printf "%-26s %3s %16s %16s %16s %8s %8s %16s %8s\n", "model", "thr", "zeropoint", "onnxruntime", \
           "pytorch", "ours/ORT", "ours/PT", "integer", "int/ours"
    for (r = 1; r <= nrows; r++) {
        split(rows[r], mt, SUBSEP)
        z = rows[r] SUBSEP "zeropoint"; o = rows[r] SUBSEP "onnxruntime"; p = rows[r] SUBSEP "pytorch"
        i = rows[r] SUBSEP "integer"
        printf "%-26s %3s %s %s %s %s %s %s %s\n", mt[1], mt[2], cell(z), cell(o), cell(p), ratio(z, o), \
               ratio(z, p), cell(i), ratio(i, z)
    }
}' "$RES"

# ONNX Runtime int8 (ort-int8) beside our float runtime and ORT float, per CPU-second
if has ort-int8; then
    awk '
    function median(list,   n, v, i, j, x) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) { x = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    $4 != "failed" { k = $1 " " $2; cpu[k, $3] = cpu[k, $3] " " $5; if ($3 ~ /^ort-int8-/) { e[$3] = 1; if (!(k in row)) { row[k] = 1; rows[++n] = k } } }
    END {
        printf "\nONNX Runtime int8 on our QDQ export: images per CPU-second (median), and per ORT float\n"
        for (r = 1; r <= n; r++)
            for (t in e) {
                i = median(cpu[rows[r], t]); f = (rows[r], "onnxruntime") in cpu ? median(cpu[rows[r], "onnxruntime"]) : 0
                z = (rows[r], "zeropoint") in cpu ? median(cpu[rows[r], "zeropoint"]) : 0
                g = (rows[r], "integer") in cpu ? median(cpu[rows[r], "integer"]) : 0
                printf "%-30s %-14s %8.1f   x%.2f of ORT float   x%.2f of zeropoint float   our integer x%.2f of it\n", \
                       rows[r], t, i, f ? i / f : 0, z ? i / z : 0, g ? g / i : 0
            }
    }' "$RES"
fi
