#!/usr/bin/env python3
"""Writes the catalogue of malformed inputs (issue 17) into OUTDIR/cases/.

Usage: make_cases.py OUTDIR MKIMG

Every case is a folder holding `config.json` (a run config whose one bad input
is the case's file, everything else valid and small), the bad file(s), and
`expect`: the text the error message must contain (the bad file's path, which
names the file; the message says where). `OUTDIR/good/` holds the valid
inputs the configs share, and `OUTDIR/control/config.json` is the same config
with nothing wrong, which must run to exit 0 (so a failure of a bad case is
never a broken base setup). Nothing is downloaded: the valid model is the
shipped models/fashion_mobilenet.onnx, the images come from MKIMG (mkimg.c).
Only the standard library is used.
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

OUT = os.path.abspath(sys.argv[1])
MKIMG = os.path.abspath(sys.argv[2])
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(REPO, "models", "fashion_mobilenet.onnx")
GOOD = os.path.join(OUT, "good")
N = 20  # examples in the valid data sets

cases = []  # (name, config dict, expect)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx(dims, payload, type_byte=0x08, ndim=None):
    nd = len(dims) if ndim is None else ndim
    return bytes([0, 0, type_byte, nd]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def pixels(n):
    return bytes((i * 37 + i // 784 * 11) % 256 for i in range(n * 784))


def npy(descr, shape, data, fortran=False, major=1, header=None):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, "True" if fortran else "False", repr(tuple(shape)))
    hb = header.encode()
    pre = 10 if major == 1 else 12
    pad = (64 - (pre + len(hb) + 1) % 64) % 64
    hb = hb + b" " * pad + b"\n"
    ln = struct.pack("<H", len(hb)) if major == 1 else struct.pack("<I", len(hb))
    return b"\x93NUMPY" + bytes([major, 0]) + ln + hb + data


def mkimg(fmt, w, h, c, path):
    subprocess.check_call([MKIMG, fmt, str(w), str(h), str(c), path])
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- valid base ---
os.makedirs(GOOD, exist_ok=True)
write(os.path.join(GOOD, "images.idx.gz"), gzip.compress(idx([N, 28, 28], pixels(N)), mtime=0))
write(os.path.join(GOOD, "labels.idx"), idx([N], bytes(i % 10 for i in range(N))))
GOOD_IDX = {"format": "idx", "images": os.path.join(GOOD, "images.idx.gz"),
            "labels": os.path.join(GOOD, "labels.idx"), "mean": [72.94], "std": [90.0]}
os.makedirs(os.path.join(GOOD, "imgs"), exist_ok=True)
mkimg("png", 30, 28, 1, os.path.join(GOOD, "imgs", "a.png"))
mkimg("jpeg", 32, 40, 3, os.path.join(GOOD, "imgs", "b.jpg"))
GOOD_CSV = "file,class_index\na.png,1\nb.jpg,2\na.png,3\n"


def base(dataset=None, model=MODEL, extra=None):
    cfg = {
        "name": "malformed",
        "seed": 1,
        "schemes": [{"scheme": "asymmetric", "bits": 8}],
        "datasets": {"d": dataset or GOOD_IDX},
        "models": [{"name": "m", "path": model, "eval": "d", "modes": ["weights"],
                    "batch": 10, "layer_stats_samples": 10}],
    }
    if extra:
        cfg.update(extra)
    return cfg


def case(name, files, make_cfg, expect=None, raw_config=None):
    """files: {filename: bytes}; make_cfg(dir) -> config dict; expect defaults
    to the first file's path."""
    d = os.path.join(OUT, "cases", "%03d_%s" % (len(cases) + 1, name))
    os.makedirs(d, exist_ok=True)
    paths = {}
    for fn, data in files.items():
        p = os.path.join(d, fn)
        if data is None:
            pass  # a path that must not exist
        elif data == "DIR":
            os.makedirs(p, exist_ok=True)
        elif data == "FIFO":
            if not os.path.exists(p):
                os.mkfifo(p)
        else:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            write(p, data)
        paths[fn] = p
    first = next(iter(paths.values())) if paths else None
    cfg_path = os.path.join(d, "config.json")
    if raw_config is not None:
        write(cfg_path, raw_config)
        exp = expect or cfg_path
    else:
        write(cfg_path, json.dumps(make_cfg(d, paths), indent=1))
        exp = expect(paths) if callable(expect) else (expect or first)
    write(os.path.join(d, "expect"), exp + "\n")
    write(os.path.join(d, "exit"), "%d\n" % exit_code(name))
    cases.append(name)


def exit_code(name):
    """README: 2 for a usage or config error (a bad config, a plugin path that
    is not a shared object: issue 17 item 7), 1 for a bad model or data file."""
    return 2 if name.startswith("config_") or name.startswith("plugin_") else 1


os.makedirs(os.path.join(OUT, "control"), exist_ok=True)
write(os.path.join(OUT, "control", "config.json"), json.dumps(base(), indent=1))
write(os.path.join(OUT, "control", "images.json"), json.dumps(base({
    "format": "images", "images": os.path.join(GOOD, "imgs"),
    "labels": os.path.join(GOOD, "good.csv"), "channels": 1, "size": 28,
    "resize_mode": "stretch", "mean": [127.5], "std": [127.5]}), indent=1))
write(os.path.join(GOOD, "good.csv"), GOOD_CSV)


# ------------------------------------------------------------------ configs ---
def config_case(name, text):
    case("config_" + name, {}, None, raw_config=text)


good_text = json.dumps(base())
config_case("empty", "")
config_case("not_json", "this is not json\n")
config_case("truncated", good_text[: len(good_text) // 2])
config_case("trailing_garbage", good_text + " }")
config_case("array_top", "[1, 2, 3]")
config_case("nul_byte", good_text[:20] + "\0" + good_text[20:])
config_case("binary", "\x89PNG\r\n\x1a\n" + "x" * 40)
config_case("unknown_top_key", json.dumps(base(extra={"shemes": []})))
config_case("schemes_not_array", json.dumps(base(extra={"schemes": "asymmetric"})))
config_case("unknown_scheme", json.dumps(base(extra={"schemes": [{"scheme": "asymetric"}]})))
config_case("bits_too_big", json.dumps(base(extra={"schemes": [{"scheme": "asymmetric", "bits": 12}]})))
config_case("bits_string", json.dumps(base(extra={"schemes": [{"scheme": "asymmetric", "bits": "8"}]})))
config_case("bits_fraction", json.dumps(base(extra={"schemes": [{"scheme": "asymmetric", "bits": 7.5}]})))
config_case("bad_granularity", json.dumps(base(extra={"schemes": [{"scheme": "asymmetric", "granularity": "per-row"}]})))
config_case("unknown_scheme_option", json.dumps(base(extra={"schemes": [{"scheme": "symmetric", "nudge_zero": True}]})))
config_case("duplicate_key_in_scheme", good_text.replace('"bits": 8', '"bits": 8, "bits": 4'))
config_case("duplicate_top_key", good_text.replace('"seed": 1', '"seed": 1, "seed": 2'))
config_case("seed_negative", json.dumps(base(extra={"seed": -1})))
config_case("no_models_no_tensors", json.dumps({"name": "x", "schemes": [{"scheme": "asymmetric"}]}))
cfg = base(); cfg["models"][0]["eval"] = "nope"
config_case("unknown_dataset_name", json.dumps(cfg))
cfg = base(); cfg["models"][0]["modes"] = ["sideways"]
config_case("bad_mode", json.dumps(cfg))
cfg = base(); cfg["models"][0]["batch"] = 0
config_case("batch_zero", json.dumps(cfg))
cfg = base(); cfg["models"][0]["calibration"] = {"method": "median", "size": 10}
config_case("bad_calibration_method", json.dumps(cfg))
cfg = base(); cfg["models"][0]["calibration"] = {"method": "minmax", "size": -5}
config_case("calibration_size_negative", json.dumps(cfg))
cfg = base(); cfg["datasets"]["d"] = dict(GOOD_IDX, format="tfrecord")
config_case("bad_dataset_format", json.dumps(cfg))
cfg = base(); cfg["datasets"]["d"] = dict(GOOD_IDX, std=[0.0])
config_case("std_zero", json.dumps(cfg))
cfg = base(); cfg["datasets"]["d"] = dict(GOOD_IDX, channels=2)
config_case("channels_two", json.dumps(cfg))
cfg = base(); del cfg["models"][0]["path"]
config_case("model_path_missing_key", json.dumps(cfg))
config_case("deep_nesting", "[" * 100000 + "]" * 100000)
config_case("huge_number", good_text.replace('"seed": 1', '"seed": 1e999'))
config_case("bad_utf8", good_text.replace('"malformed"', '"mal\xff\xfeformed"'))
# The config path itself is not a regular file: the runner uses the file named
# in `config_path` instead of config.json.
for name, kind in (("config_is_directory", "DIR"), ("config_is_fifo", "FIFO"),
                   ("config_missing", None)):
    d = os.path.join(OUT, "cases", "%03d_%s" % (len(cases) + 1, name))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "the_config.json")
    if kind == "DIR":
        os.makedirs(p, exist_ok=True)
    elif kind == "FIFO" and not os.path.exists(p):
        os.mkfifo(p)
    write(os.path.join(d, "config_path"), p + "\n")
    write(os.path.join(d, "expect"), p + "\n")
    write(os.path.join(d, "exit"), "2\n")
    cases.append(name)
d = os.path.join(OUT, "cases", "%03d_%s" % (len(cases) + 1, "config_dev_zero"))
os.makedirs(d, exist_ok=True)
write(os.path.join(d, "config_path"), "/dev/zero\n")
write(os.path.join(d, "expect"), "/dev/zero\n")
write(os.path.join(d, "exit"), "2\n")
cases.append("config_dev_zero")


# ------------------------------------------------------------------- models ---
with open(MODEL, "rb") as f:
    onnx = f.read()


def model_case(name, data):
    case("onnx_" + name, {"model.onnx": data}, lambda d, p: base(model=p["model.onnx"]))


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i


def fields(b, lo, hi):
    """(field, wiretype, value start, value end) of a protobuf message."""
    i = lo
    while i < hi:
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            s = i; _, i = varint(b, i); yield f, wt, s, i
        elif wt == 1:
            yield f, wt, i, i + 8; i += 8
        elif wt == 2:
            ln, i = varint(b, i); yield f, wt, i, i + ln; i += ln
        elif wt == 5:
            yield f, wt, i, i + 4; i += 4
        else:
            raise ValueError("wire type %d" % wt)


def initializers(b):
    """(name, dims field spans, raw_data span) of each graph initializer."""
    out = []
    for f, wt, s, e in fields(b, 0, len(b)):
        if f == 7 and wt == 2:  # ModelProto.graph
            for g, gwt, gs, ge in fields(b, s, e):
                if g == 5 and gwt == 2:  # GraphProto.initializer
                    name, raw, dims = "", None, []
                    for t, twt, ts, te in fields(b, gs, ge):
                        if t == 8:
                            name = b[ts:te].decode()
                        elif t == 9:
                            raw = (ts, te)
                        elif t == 1:
                            dims.append((twt, ts, te))
                    out.append((name, dims, raw))
    return out


inits = [t for t in initializers(onnx) if t[2] and t[2][1] - t[2][0] >= 16]


def patched(at, data):
    return onnx[:at] + data + onnx[at + len(data):]


model_case("empty", b"")
for frac in (1, 3, 10, 25, 50, 75, 90, 99):
    model_case("truncated_%d_percent" % frac, onnx[: len(onnx) * frac // 100])
model_case("truncated_last_byte", onnx[:-1])
model_case("garbage", bytes((i * 131 + 7) % 256 for i in range(4096)))
model_case("text", b"this is not a protobuf, just a text file\n" * 20)
model_case("jpeg_renamed", mkimg("jpeg", 8, 8, 3, os.path.join(OUT, "tmp.jpg")))
model_case("zeros", bytes(4096))
model_case("ones", b"\xff" * 4096)
model_case("trailing_garbage", onnx + b"\xff\xff\xff\xff")
model_case("doubled", onnx + onnx[:100])
name0, dims0, raw0 = inits[0]
nan = struct.pack("<f", float("nan"))
model_case("nan_weight_first", patched(raw0[0] + 4, nan))
model_case("inf_weight", patched(raw0[0] + 8, struct.pack("<f", float("inf"))))
model_case("neg_inf_weight", patched(raw0[0], struct.pack("<f", float("-inf"))))
namel, dimsl, rawl = inits[-1]
model_case("nan_weight_last_tensor", patched(rawl[1] - 4, nan))
big = [t for t in inits if t[2][1] - t[2][0] > 1000][0]
model_case("nan_weight_middle", patched((big[2][0] + big[2][1]) // 2 // 4 * 4, nan))
# a dims entry (1-byte varint) changed to another 1-byte value: raw_data no longer fits
for nm, dims, raw in inits:
    d1 = [x for x in dims if x[0] == 0 and x[2] - x[1] == 1 and 1 < onnx[x[1]] < 120]
    if d1:
        model_case("dims_mismatch", patched(d1[0][1], bytes([onnx[d1[0][1]] + 1])))
        break
# raw_data length prefix made larger than the file
model_case("length_past_end", patched(raw0[0] - 2, b"\xff\x7f") if raw0[1] - raw0[0] < 16384 else onnx[:50])
# Structural damage (a flipped weight byte is just another valid model): a key
# byte given wire type 7, which no protobuf has, at the graph, at its first
# initializer and at its first node; an op type no runtime knows.
graph = [(s, e) for f, wt, s, e in fields(onnx, 0, len(onnx)) if f == 7][0]
def key_pos(lo, hi, want):
    i = lo
    while i < hi:
        k, j = varint(onnx, i)
        if k >> 3 == want:
            return i
        f, wt, s, e = next(fields(onnx, i, hi))
        i = e
    raise ValueError(want)
gkey = key_pos(0, len(onnx), 7)
model_case("bad_wire_type_graph", patched(gkey, bytes([(7 << 3) | 7])))
model_case("bad_wire_type_initializer", patched(key_pos(graph[0], graph[1], 5), bytes([(5 << 3) | 7])))
model_case("bad_wire_type_node", patched(key_pos(graph[0], graph[1], 1), bytes([(1 << 3) | 7])))
conv = onnx.find(b"\x22\x04Conv")  # NodeProto.op_type = "Conv"
model_case("unknown_op_type", patched(conv + 2, b"Cxnv"))
case("onnx_directory", {"model.onnx": "DIR"}, lambda d, p: base(model=p["model.onnx"]))
case("onnx_missing", {"no_such.onnx": None}, lambda d, p: base(model=p["no_such.onnx"]))
case("onnx_fifo", {"fifo.onnx": "FIFO"}, lambda d, p: base(model=p["fifo.onnx"]))
case("onnx_dev_zero", {}, lambda d, p: base(model="/dev/zero"), expect="/dev/zero")


# ---------------------------------------------------------------------- IDX ---
def idx_case(name, images=None, labels=None, gz_images=True, expect=None):
    files = {}
    if images is not None:
        files["images.idx" + (".gz" if gz_images else "")] = images
    if labels is not None:
        files["labels.idx"] = labels

    def mk(d, p):
        ds = dict(GOOD_IDX)
        for fn, path in p.items():
            ds["images" if fn.startswith("images") else "labels"] = path
        return base(ds)
    case("idx_" + name, files, mk, expect=expect)


def gz(b):
    return gzip.compress(b, mtime=0)


good_img = idx([N, 28, 28], pixels(N))
good_lab = idx([N], bytes(i % 10 for i in range(N)))
idx_case("empty", gz(b""))
idx_case("empty_raw", b"", gz_images=False)
idx_case("three_bytes", b"\x00\x00\x08", gz_images=False)
idx_case("bad_magic", gz(b"\x01\x02" + good_img[2:]))
idx_case("bad_type_byte", gz(good_img[:2] + b"\x07" + good_img[3:]))
idx_case("float_images", gz(idx([N, 28, 28], pixels(N) * 4, type_byte=0x0D)))
idx_case("ndim_zero", gz(bytes([0, 0, 8, 0])))
idx_case("ndim_five", gz(idx([1, 1, 1, 1, 28], bytes(28))))
idx_case("header_truncated", gz(good_img[:9]))
idx_case("dim_zero", gz(idx([0, 28, 28], b"")))
idx_case("dim_huge", gz(idx([0x7FFFFFFF, 28, 28], b"")))
idx_case("payload_truncated", gz(good_img[:-100]))
idx_case("payload_trailing", gz(good_img + b"extra"))
idx_case("two_dims", gz(idx([N, 784], pixels(N))))
# a valid file that does not fit the model: the message names the model and the
# data set (by its config name)
idx_case("wrong_size_27", gz(idx([N, 27, 27], bytes(N * 27 * 27))), expect="dataset 'd'")
idx_case("gzip_truncated", gz(good_img)[:-30])
idx_case("gzip_corrupt", gz(good_img)[:40] + b"\x00" * 50 + gz(good_img)[90:])
idx_case("gzip_trailing_garbage", gz(good_img) + b"not gzip")
idx_case("gzip_bad_crc", gz(good_img)[:-8] + b"\x00\x00\x00\x00" + gz(good_img)[-4:])
idx_case("labels_count_mismatch", labels=idx([N - 1], bytes(N - 1)))
idx_case("labels_two_dims", labels=idx([N, 1], bytes(N)))
idx_case("labels_empty", labels=b"")
idx_case("labels_truncated", labels=good_lab[:-3])
idx_case("labels_int32", labels=idx([N], bytes(4 * N), type_byte=0x0C))
idx_case("labels_is_images", labels=good_img)
case("idx_images_directory", {"images.idx.gz": "DIR"}, lambda d, p: base(dict(GOOD_IDX, images=p["images.idx.gz"])))
case("idx_images_missing", {"missing.idx.gz": None}, lambda d, p: base(dict(GOOD_IDX, images=p["missing.idx.gz"])))
case("idx_images_fifo", {"fifo.idx": "FIFO"}, lambda d, p: base(dict(GOOD_IDX, images=p["fifo.idx"])))
case("idx_labels_dev_zero", {}, lambda d, p: base(dict(GOOD_IDX, labels="/dev/zero")), expect="/dev/zero")
case("idx_labels_directory", {"labels": "DIR"}, lambda d, p: base(dict(GOOD_IDX, labels=p["labels"])))


# ------------------------------------------------------- images and labels ---
def images_case(name, files, csv, expect_file=None):
    files = dict(files)
    files["labels.csv"] = csv

    def mk(d, p):
        return base({"format": "images", "images": d, "labels": p["labels.csv"], "channels": 1,
                     "size": 28, "resize_mode": "stretch", "mean": [127.5], "std": [127.5]})
    exp = (lambda p: p[expect_file]) if expect_file else (lambda p: p["labels.csv"])
    case("images_" + name, files, mk, expect=exp)


tmpd = os.path.join(OUT, "tmp")
os.makedirs(tmpd, exist_ok=True)
png = mkimg("png", 30, 28, 1, os.path.join(tmpd, "a.png"))
jpg = mkimg("jpeg", 32, 40, 3, os.path.join(tmpd, "b.jpg"))
pjpg = mkimg("jpegprog", 32, 40, 3, os.path.join(tmpd, "p.jpg"))


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def one(fn, data, name):
    images_case(name, {fn: data}, "file,class_index\n%s,1\n" % fn, expect_file=fn)


one("x.png", b"", "png_empty")
one("x.png", png[:8], "png_signature_only")
one("x.png", png[: len(png) // 2], "png_truncated")
one("x.png", png[:-12], "png_no_iend")
one("x.png", png[:20] + bytes([png[20] ^ 1]) + png[21:], "png_bad_ihdr_crc")
one("x.png", png[:8] + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)) + png[33:], "png_bomb_dims")
one("x.png", png[:8] + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 28, 8, 0, 0, 0, 0)) + png[33:], "png_zero_width")
one("x.png", png[:8] + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30, 28, 7, 0, 0, 0, 0)) + png[33:], "png_bad_depth")
idat = png.find(b"IDAT")
one("x.png", png[: idat + 10] + b"\x00" * 20 + png[idat + 30:], "png_corrupt_idat")
one("x.jpg", b"", "jpeg_empty")
one("x.jpg", jpg[:3], "jpeg_magic_only")
one("x.jpg", jpg[: len(jpg) // 2], "jpeg_truncated_half")
one("x.jpg", jpg[:200], "jpeg_truncated_header")
one("x.jpg", pjpg[: len(pjpg) * 2 // 3], "jpeg_progressive_truncated")
sof = jpg.find(b"\xff\xc0")
one("x.jpg", jpg[: sof + 5] + struct.pack(">HH", 60000, 60000) + jpg[sof + 9:], "jpeg_bomb_dims")
one("x.jpg", jpg[: sof + 5] + struct.pack(">HH", 0, 0) + jpg[sof + 9:], "jpeg_zero_dims")
one("x.jpg", jpg[:sof] + b"\xff\xc0\x00\x02" + jpg[sof + 4:], "jpeg_bad_sof_length")
one("x.png", b"GIF89a" + bytes(40), "gif_renamed")
one("x.png", b"hello, I am text\n", "text_renamed")
images_case("image_is_directory", {"x.png": "DIR"}, "file,class_index\nx.png,1\n", expect_file="x.png")
images_case("image_missing", {"gone.png": None}, "file,class_index\ngone.png,1\n", expect_file="gone.png")
images_case("image_fifo", {"f.png": "FIFO"}, "file,class_index\nf.png,1\n", expect_file="f.png")
images_case("image_bad_in_row_3", {"a.png": png, "bad.jpg": jpg[:100]},
            "file,class_index\na.png,1\na.png,2\nbad.jpg,3\n", expect_file="bad.jpg")
images_case("csv_empty", {}, "")
images_case("csv_header_only", {}, "file,class_index\n")
images_case("csv_no_class_column", {"a.png": png}, "file,label\na.png,1\n")
images_case("csv_no_file_column", {"a.png": png}, "path,class_index\na.png,1\n")
images_case("csv_label_negative", {"a.png": png}, "file,class_index\na.png,-1\n")
images_case("csv_label_text", {"a.png": png}, "file,class_index\na.png,cat\n")
images_case("csv_label_huge", {"a.png": png}, "file,class_index\na.png,99999999999\n")
images_case("csv_label_fraction", {"a.png": png}, "file,class_index\na.png,1.5\n")
images_case("csv_label_empty", {"a.png": png}, "file,class_index\na.png,\n")
images_case("csv_unterminated_quote", {"a.png": png}, 'file,class_index\n"a.png,1\n')
images_case("csv_nul_byte", {"a.png": png}, "file,class_index\na.png,1\0\n")
images_case("csv_empty_file_name", {"a.png": png}, "file,class_index\n,1\n")
images_case("csv_too_few_fields", {"a.png": png}, "file,x,class_index\na.png,1\n")
images_case("csv_binary", {"a.png": png}, png)
case("images_csv_directory", {"labels.csv": "DIR"}, lambda d, p: base({
    "format": "images", "images": d, "labels": p["labels.csv"], "channels": 1, "size": 28,
    "resize_mode": "stretch"}))
case("images_csv_missing", {"nolabels.csv": None}, lambda d, p: base({
    "format": "images", "images": d, "labels": p["nolabels.csv"], "channels": 1, "size": 28,
    "resize_mode": "stretch"}))
case("images_folder_missing", {"labels.csv": "file,class_index\na.png,1\n", "nofolder": None},
     lambda d, p: base({"format": "images", "images": p["nofolder"], "labels": p["labels.csv"],
                        "channels": 1, "size": 28, "resize_mode": "stretch"}),
     expect=lambda p: p["nofolder"])

# Native size (resize_mode none, size 0): the first image sets the size.
sq = mkimg("png", 28, 28, 1, os.path.join(tmpd, "sq.png"))
short = mkimg("png", 28, 27, 1, os.path.join(tmpd, "short.png"))


def native(d, p):
    return base({"format": "images", "images": d, "labels": p["labels.csv"], "channels": 1,
                 "resize_mode": "none", "mean": [127.5], "std": [127.5]})


case("images_native_size_differs", {"short.png": short, "sq.png": sq,
                                    "labels.csv": "file,class_index\nsq.png,1\nshort.png,2\n"},
     native, expect=lambda p: p["short.png"])
case("images_native_not_model_size", {"wide.png": png, "labels.csv": "file,class_index\nwide.png,1\n"},
     native, expect="gives 1x28x30")
case("config_split_offset_too_big", {"sq.png": sq, "labels.csv": "file,class_index\nsq.png,1\n"},
     lambda d, p: dict(native(d, p), datasets={"d": dict(native(d, p)["datasets"]["d"],
                                                          split={"every": 4, "offset": 4, "part": "rest"})}),
     expect="split.offset")
case("images_split_part_empty", {"sq.png": sq, "labels.csv": "file,class_index\nsq.png,1\n"},
     lambda d, p: dict(native(d, p), datasets={"d": dict(native(d, p)["datasets"]["d"],
                                                          split={"every": 4, "offset": 2, "part": "held-out"})}),
     expect=lambda p: p["labels.csv"])


# ---------------------------------------------------------------------- npy ---
def f4(n):
    return b"".join(struct.pack("<f", (i % 255) / 255.0) for i in range(n))


X = npy("<f4", (N, 1, 28, 28), f4(N * 784))
Y = npy("<i8", (N,), b"".join(struct.pack("<q", i % 10) for i in range(N)))


def npy_case(name, x=None, y=None, expect=None):
    files = {}
    if x is not None:
        files["x.npy"] = x
    if y is not None:
        files["y.npy"] = y
    good_x = os.path.join(GOOD, "x.npy")
    good_y = os.path.join(GOOD, "y.npy")

    def mk(d, p):
        return base({"format": "npy", "images": p.get("x.npy", good_x),
                     "labels": p.get("y.npy", good_y), "channels": 1})
    case("npy_" + name, files, mk, expect=expect)


write(os.path.join(GOOD, "x.npy"), X)
write(os.path.join(GOOD, "y.npy"), Y)
npy_case("empty", x=b"")
npy_case("bad_magic", x=b"\x93NUMPX" + X[6:])
npy_case("bad_version", x=X[:6] + b"\x09\x00" + X[8:])
npy_case("header_len_past_end", x=X[:8] + b"\xff\xff" + X[10:])
npy_case("header_not_dict", x=npy("", (), b"", header="['not', 'a', 'dict']"))
npy_case("header_no_shape", x=npy("", (), f4(N * 784), header="{'descr': '<f4', 'fortran_order': False, }"))
npy_case("fortran_order", x=npy("<f4", (N, 1, 28, 28), f4(N * 784), fortran=True))
npy_case("dtype_complex", x=npy("<c8", (N, 1, 28, 28), f4(2 * N * 784)))
npy_case("dtype_object", x=npy("|O", (N, 1, 28, 28), bytes(8 * N * 784)))
npy_case("dtype_int32_inputs", x=npy("<i4", (N, 1, 28, 28), bytes(4 * N * 784)))
npy_case("data_truncated", x=X[:-100])
npy_case("data_trailing", x=X + b"\x00" * 12)
npy_case("three_dims", x=npy("<f4", (N, 28, 28), f4(N * 784)))
npy_case("nan_input", x=npy("<f4", (N, 1, 28, 28), struct.pack("<f", float("nan")) + f4(N * 784 - 1)))
npy_case("inf_input", x=npy("<f4", (N, 1, 28, 28), f4(N * 784 - 1) + struct.pack("<f", float("inf"))))
npy_case("negative_dim", x=npy("", (), f4(N * 784), header="{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 1, 28, 28), }"))
npy_case("zero_examples", x=npy("<f4", (0, 1, 28, 28), b""))
npy_case("wrong_size", x=npy("<f4", (N, 1, 27, 27), f4(N * 729)), expect="dataset 'd'")
npy_case("labels_count_mismatch", y=npy("<i8", (N - 2,), bytes(8 * (N - 2))))
npy_case("labels_float", y=npy("<f4", (N,), f4(N)))
npy_case("labels_two_dims", y=npy("<i8", (N, 1), bytes(8 * N)))
npy_case("labels_negative", y=npy("<i8", (N,), struct.pack("<q", -3) + bytes(8 * (N - 1))))
npy_case("labels_huge", y=npy("<i8", (N,), struct.pack("<q", 1 << 40) + bytes(8 * (N - 1))))
npy_case("labels_bool", y=npy("|b1", (N,), bytes(N)))
npy_case("gzip_of_garbage", x=gz(b"\x93NUMPY garbage"))
case("npy_dev_zero", {}, lambda d, p: base({"format": "npy", "images": "/dev/zero",
                                            "labels": os.path.join(GOOD, "y.npy")}), expect="/dev/zero")
case("npy_directory", {"x.npy": "DIR"}, lambda d, p: base({"format": "npy", "images": p["x.npy"],
                                                           "labels": os.path.join(GOOD, "y.npy")}))


# ------------------------------------------------------------------ plugins ---
def plugin_case(name, files, key="plugin.so"):
    case("plugin_" + name, files, lambda d, p: base(extra={"plugins": [p[key]]}),
         expect=lambda p: p[key])


plugin_case("text_file", {"plugin.so": b"not a shared object\n"})
plugin_case("empty_file", {"plugin.so": b""})
plugin_case("png_renamed", {"plugin.so": png})
plugin_case("truncated_elf", {"plugin.so": b"\x7fELF\x02\x01\x01" + bytes(57)})
plugin_case("directory", {"plugin.so": "DIR"})
plugin_case("missing", {"plugin.so": None})
plugin_case("source_file", {"plugin.c": b"int x;\n"}, key="plugin.c")
ternary = os.path.join(REPO, "build", "release", "plugins", "ternary.so")
if os.path.exists(ternary):
    with open(ternary, "rb") as f:
        so = f.read()
    plugin_case("truncated_real_plugin", {"plugin.so": so[: len(so) // 3]})

shutil.rmtree(tmpd)
print(len(os.listdir(os.path.join(OUT, "cases"))))
