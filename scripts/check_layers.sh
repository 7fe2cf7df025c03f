#!/bin/sh
# make check-layers: the layers of the library, lowest first, and the rule that a
# folder includes only headers of its own folder or of a lower layer. Folders on
# one line are siblings: they may not include each other. A few libraries are
# confined to the folders that own them. Usage: check_layers.sh [ROOT]
# Prints every offending line as file:line: and exits 1 when there is one.
#
# The table is the architecture: the README's Layout section shows it in this order,
# and every folder in it is scanned.
root=${1:-.}
cd "$root" || exit 2

LAYERS='
common
schemes kernels data bench stats
model
calib ptq
train
config
store
experiment plots
harness
'

# Libraries and where they may be used (folder list, space separated).
#   cjson/cJSON.h: configs are read in config/, results written and read in store/
#   csv.h:         CSV files are libcsv's, in store/ only
CONFINED='
cjson/cJSON.h=config store
csv.h=store
'

# Extra edges a sibling or lower layer may never take, beyond the layer rule:
# figures are drawn from CSVs alone, never from the runtime or the kernels.
FORBIDDEN='
plots=model kernels calib train experiment
'

awk -v layers="$LAYERS" -v confined="$CONFINED" -v forbidden="$FORBIDDEN" '
BEGIN {
    n = split(layers, lines, "\n"); lvl = 0
    for (i = 1; i <= n; i++) {
        if (lines[i] ~ /^[ \t]*$/) continue
        lvl++; m = split(lines[i], names, " ")
        for (j = 1; j <= m; j++) layer[names[j]] = lvl
    }
    n = split(confined, lines, "\n")
    for (i = 1; i <= n; i++) {
        if (split(lines[i], kv, "=") != 2) continue
        m = split(kv[2], names, " ")
        for (j = 1; j <= m; j++) allowed[kv[1], names[j]] = 1
        lib[kv[1]] = 1
    }
    n = split(forbidden, lines, "\n")
    for (i = 1; i <= n; i++) {
        if (split(lines[i], kv, "=") != 2) continue
        m = split(kv[2], names, " ")
        for (j = 1; j <= m; j++) never[kv[1], names[j]] = 1
    }
    bad = 0
}
FNR == 1 {
    from = FILENAME; sub(/\/.*/, "", from)
    # kernels/f32/gemm-avx2.c belongs to kernels
}
/^[ \t]*#[ \t]*include/ {
    line = $0
    if (match(line, /<[^>]+>/)) {
        hdr = substr(line, RSTART + 1, RLENGTH - 2)
        if ((hdr in lib) && !((hdr, from) in allowed)) {
            printf "%s:%d: %s may not use <%s> (confined to its owner folders)\n", FILENAME, FNR, from, hdr
            bad = 1
        }
        next
    }
    if (!match(line, /"[^"]+"/)) next
    hdr = substr(line, RSTART + 1, RLENGTH - 2)
    to = hdr; if (to !~ /\//) next
    sub(/\/.*/, "", to)
    if (!(to in layer) || to == from) next
    if ((from, to) in never) {
        printf "%s:%d: %s may not include %s (%s)\n", FILENAME, FNR, from, hdr, "figures read CSVs only"
        bad = 1
    } else if (layer[to] >= layer[from]) {
        printf "%s:%d: %s (layer %d) includes %s of %s (layer %d): dependencies point down\n",
               FILENAME, FNR, from, layer[from], hdr, to, layer[to]
        bad = 1
    }
}
END { exit bad }
' $(find $LAYERS \( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.inc' \) 2>/dev/null | sort)
