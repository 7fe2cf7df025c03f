#!/usr/bin/env python3
"""Independent reference values for tests/test_stats.c (stats/), written to
tests/data/stats_ref.txt. Python standard library only.

  python3 tests/data/stats_ref.py > tests/data/stats_ref.txt

- McNemar: exact rational arithmetic. P(X <= k) = sum_{i<=k} C(n,i) / 2^n with
  Python's exact integers (no truncation, also for n = 10^6; near the centre the
  complement to the exact half total is summed, which is shorter), turned into a
  double by correctly rounded integer division. Nothing here shares code or method
  with stats/mcnemar.c (which uses a saddle-point term and a float recurrence).
- Bootstrap: the resampling indices come from the SAME generator as the C code:
  xoshiro256** seeded through splitmix64, reimplemented below from the published
  algorithm (as common/rng.c describes it); resample j's generator is seeded with
  output j of a master generator seeded with `seed`; index = next() % n. Sums run in the same order as stats/bootstrap.c, and quantiles are
  Hyndman-Fan type 7, so the C values should agree to the last bit or two.
- Summary rows: the definitions of docs/statistics.md, written out again here.

Line format (space separated): a keyword, then numbers; see test_stats.c.
"""
import math
import sys
from fractions import Fraction

M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro:
    def __init__(self, seed):
        seed &= M64
        self.s = []
        for _ in range(4):
            seed, v = splitmix64(seed)
            self.s.append(v)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def below(self, n):
        return self.next() % n


# ---- McNemar ------------------------------------------------------------------

def binom_sum(lo, hi, n):
    """Exact sum of C(n, i) for lo <= i <= hi (integers)."""
    if hi < lo:
        return 0
    s, t = 0, math.comb(n, lo)
    for i in range(lo, hi + 1):
        s += t
        t = t * (n - i) // (i + 1)
    return s


def binom_half_tail(k, n):
    """Exact P(X <= k), X ~ Bin(n, 1/2), k <= n/2, as a Fraction. Near the middle
    the sum runs from k + 1 to the centre instead, with the exact half total:
    sum_{i < n/2} C(n, i) = (2^n - [n even] C(n, n/2)) / 2."""
    half = n // 2 if n % 2 else n // 2 - 1  # largest i with i < n/2
    if k <= half - k:
        return Fraction(binom_sum(0, k, n), 1 << n)
    below_centre = ((1 << n) - (math.comb(n, n // 2) if n % 2 == 0 else 0)) // 2
    if k > half:  # k = n/2 (n even): add the centre term
        return Fraction(below_centre + math.comb(n, k), 1 << n)
    return Fraction(below_centre - binom_sum(k + 1, half, n), 1 << n)


def mcnemar(b, c):
    if b + c == 0:
        return 1.0, 1.0
    n, k = b + c, min(b, c)
    tail = binom_half_tail(k, n)
    pmf = Fraction(math.comb(n, k), 1 << n)
    exact = min(Fraction(1), 2 * tail)
    midp = min(Fraction(1), 2 * tail - pmf)
    return float(exact), float(midp)


# ---- bootstrap ----------------------------------------------------------------

def resample_seeds(seed, B):
    m = Xoshiro(seed)
    return [m.next() for _ in range(B)]


def indices(seed, j, n):
    r = Xoshiro(resample_seeds(seed, j + 1)[j])
    return [r.below(n) for _ in range(n)]


def quantile7(v, q):
    h = (len(v) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(v):
        return v[-1]
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo])


def bootstrap(cols, seed, B, level):
    """cols: list of (s, w or None). Returns [(point, lo, hi)] per column."""
    n = len(cols[0][0])
    num = [[0.0] * B for _ in cols]
    den = [[0.0] * B for _ in cols]
    seeds = resample_seeds(seed, B)
    for j in range(B):
        r = Xoshiro(seeds[j])
        for _ in range(n):
            ix = r.below(n)
            for c, (s, w) in enumerate(cols):
                num[c][j] += s[ix]
                den[c][j] += w[ix] if w is not None else 1.0
    out = []
    qlo, qhi = 0.5 * (1.0 - level), 0.5 * (1.0 + level)
    for c, (s, w) in enumerate(cols):
        vals = sorted(num[c][j] / den[c][j] for j in range(B))
        ps, pw = 0.0, 0.0
        for i in range(n):
            ps += s[i]
            pw += w[i] if w is not None else 1.0
        out.append((ps / pw, quantile7(vals, qlo), quantile7(vals, qhi)))
    return out


def mean_std(x):
    s = 0.0
    for v in x:
        s += v
    m = s / len(x)
    ss = 0.0
    for v in x:
        ss += (v - m) * (v - m)
    return m, (math.sqrt(ss / (len(x) - 1)) if len(x) > 1 else float("nan"))


def fmt(v):
    return repr(float(v)) if not isinstance(v, int) else str(v)


def line(*items):
    print(" ".join(x if isinstance(x, str) else fmt(x) for x in items))


def vec(name, v):
    line("vec", name, *v)


# ---- summary rows ----------------------------------------------------------------

def top1(label, pred):
    return sum(1 for a, b in zip(label, pred) if a == b) / len(label)


def wmean(v, t):
    s, w = 0.0, 0.0
    for a, b in zip(v, t):
        s += b * a
        w += b
    return s / w


def excludes_zero(lo, hi):
    return lo > 0.0 or hi < 0.0


def summary_cls(label, fpred, reps, seed, B, level):
    R, n = len(reps), len(label)
    fcor = [int(a == b) for a, b in zip(label, fpred)]
    ft1 = top1(label, fpred)
    t1, dr, ag, bs, cs, ps = [], [], [], [], [], []
    for p in reps:
        cor = [int(a == b) for a, b in zip(label, p)]
        b = sum(1 for f, q in zip(fcor, cor) if f and not q)
        c = sum(1 for f, q in zip(fcor, cor) if q and not f)
        t1.append(top1(label, p))
        dr.append(100.0 * (ft1 - t1[-1]))
        ag.append(sum(1 for a, q in zip(fpred, p) if a == q) / n)
        bs.append(float(b))
        cs.append(float(c))
        ps.append(mcnemar(b, c)[0])
    a = [sum(1 for p in reps if p[i] == label[i]) / R for i in range(n)]
    d = [100.0 * (fcor[i] - a[i]) for i in range(n)]
    g = [sum(1 for p in reps if p[i] == fpred[i]) / R for i in range(n)]
    iv = bootstrap([(a, None), (d, None), (g, None)], seed, B, level)
    out = []
    for vals, (_, lo, hi) in zip((t1, dr, ag), iv):
        m, s = mean_std(vals)
        out += [m, s, lo, hi]
    pmax = max(ps)
    out += [pmax, min(ps), mean_std(bs)[0], mean_std(cs)[0],
            int(excludes_zero(iv[1][1], iv[1][2]) and pmax <= 0.05)]
    return out


def summary_lm(tokens, fnll, nlls, klds, seed, B, level):
    R, n = len(nlls), len(tokens)
    fm = wmean(fnll, tokens)
    vn = [wmean(x, tokens) for x in nlls]
    vk = [wmean(x, tokens) for x in klds]
    vd = [x - fm for x in vn]
    an = [sum(x[i] for x in nlls) / R for i in range(n)]
    ak = [sum(x[i] for x in klds) / R for i in range(n)]
    s = [tokens[i] * an[i] for i in range(n)]
    dl = [tokens[i] * (an[i] - fnll[i]) for i in range(n)]
    k = [tokens[i] * ak[i] for i in range(n)]
    iv = bootstrap([(s, tokens), (dl, tokens), (k, tokens)], seed, B, level)
    out = []
    for vals, (_, lo, hi) in zip((vn, vk, vd), (iv[0], iv[2], iv[1])):
        m, sd = mean_std(vals)
        out += [m, sd, lo, hi]
    out.append(int(excludes_zero(iv[1][1], iv[1][2])))
    return out


def pair_cls(label, areps, breps, seed, B, level):
    n, P = len(label), len(areps)
    dt, bs, cs, ps = [], [], [], []
    for pa, pb in zip(areps, breps):
        ca = [int(x == y) for x, y in zip(label, pa)]
        cb = [int(x == y) for x, y in zip(label, pb)]
        b = sum(1 for x, y in zip(ca, cb) if x and not y)
        c = sum(1 for x, y in zip(ca, cb) if y and not x)
        dt.append(100.0 * (top1(label, pa) - top1(label, pb)))
        bs.append(float(b))
        cs.append(float(c))
        ps.append(mcnemar(b, c)[0])
    ta = [sum(1 for p in areps if p[i] == label[i]) / P for i in range(n)]
    tb = [sum(1 for p in breps if p[i] == label[i]) / P for i in range(n)]
    d = [100.0 * (ta[i] - tb[i]) for i in range(n)]
    (_, lo, hi), = bootstrap([(d, None)], seed, B, level)
    m, s = mean_std(dt)
    pmax = max(ps)
    return [m, s, lo, hi, pmax, min(ps), mean_std(bs)[0], mean_std(cs)[0],
            int(excludes_zero(lo, hi) and pmax <= 0.05)]


def noisy(r, base, flip, classes):
    return [x if r.uniform() >= flip else r.below(classes) for x in base]


def main():
    print("# Generated by tests/data/stats_ref.py; do not edit (rerun the script).")
    # McNemar: hand-checkable cases first, then large b + c.
    cases = [(0, 0), (0, 5), (5, 0), (1, 1), (0, 1), (1, 2), (3, 7), (7, 3), (10, 20),
             (25, 60), (100, 130), (250, 251), (1000, 1100), (2000, 2150), (3, 300),
             (0, 1000), (499500, 500500), (499000, 501000), (498000, 502000),
             (490000, 510000), (500000, 500000)]
    for b, c in cases:
        p, mid = mcnemar(b, c)
        line("mcnemar", b, c, p, mid)
    # Resampling indices.
    for seed, j, n in ((1, 0, 10), (20260, 1999, 7), (2**64 - 3, 5, 12)):
        line("indices", seed, j, n, *indices(seed, j, n))

    r = Xoshiro(4242)
    n = 37
    a = [1.0 if r.uniform() < 0.7 else 0.0 for _ in range(n)]
    b = [x if r.uniform() < 0.85 else 1.0 - x for x in a]
    x = [round(r.uniform() * 3.0, 3) for _ in range(n)]
    t = [float(1 + r.below(20)) for _ in range(n)]
    diff = [a[i] - b[i] for i in range(n)]
    tx = [t[i] * x[i] for i in range(n)]
    for name, v in (("a", a), ("b", b), ("diff", diff), ("x", x), ("t", t), ("tx", tx)):
        vec(name, v)
    for seed, B, level in ((12345, 200, 0.95), (7, 2000, 0.9)):
        for s, w, v in (("a", "-", [(a, None)]), ("diff", "-", [(diff, None)]),
                        ("tx", "t", [(tx, t)])):
            (point, lo, hi), = bootstrap(v, seed, B, level)
            line("boot", s, w, seed, B, level, point, lo, hi)

    # A classifier cell with 3 replicates against float, and a pair of two such cells.
    n, classes = 80, 10
    label = [r.below(classes) for _ in range(n)]
    fpred = noisy(r, label, 0.25, classes)
    reps = [noisy(r, fpred, 0.12, classes) for _ in range(3)]
    qreps = [noisy(r, fpred, 0.30, classes) for _ in range(3)]
    vec("label", label)
    vec("fpred", fpred)
    for i, p in enumerate(reps):
        vec("pred%d" % i, p)
    for i, p in enumerate(qreps):
        vec("qpred%d" % i, p)
    line("summary", 99, 500, 0.95, *summary_cls(label, fpred, reps, 99, 500, 0.95))
    line("summary_q", 99, 500, 0.95, *summary_cls(label, fpred, qreps, 99, 500, 0.95))
    line("pair", 5, 500, 0.95, *pair_cls(label, reps, qreps, 5, 500, 0.95))

    # A language-model cell: 25 sequences, 2 replicates.
    n = 25
    tok = [float(5 + r.below(60)) for _ in range(n)]
    fnll = [round(1.5 + r.uniform(), 4) for _ in range(n)]
    nlls = [[round(v + 0.05 * r.uniform(), 4) for v in fnll] for _ in range(2)]
    klds = [[round(0.04 * r.uniform(), 5) for _ in range(n)] for _ in range(2)]
    vec("tok", tok)
    vec("fnll", fnll)
    for i in range(2):
        vec("nll%d" % i, nlls[i])
        vec("kld%d" % i, klds[i])
    line("summary_lm", 3, 400, 0.95, *summary_lm(tok, fnll, nlls, klds, 3, 400, 0.95))


if __name__ == "__main__":
    sys.exit(main())
