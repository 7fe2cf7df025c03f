// ONNX Runtime's float throughput on one ONNX model, the anchor our runtime is
// compared with (scripts/bench_float_inference.sh runs it; it also installs
// onnxruntime-node through scripts/install-npm.sh). Same protocol as
// scripts/bench_float_inference.c: random inputs uniform in [-1, 1) (the range of
// the u8/127.5-1 preprocessing), warm-up, then REPS timed batches.
//
// usage: NODE_PATH=$BUILD/npm/node_modules node scripts/bench_ort.js MODEL.onnx
//            [--batch 50] [--threads 1] [--reps 20] [--warmup 2] [--spin 1] [--providers]
//            [--golden-input U8_NHWC.bin --golden-logits F32.bin]
// --threads sets intra-op threads; inter-op threads are 1 and execution is
// sequential. --spin 0 stops the intra-op threads spinning while they wait (ORT
// spins by default, which costs CPU time at 2+ threads). --providers runs one
// batch with profiling on and prints which execution provider ran each node kind.
// The golden files (u8 NHWC images, their float logits) check that ORT computes
// this model's logits: it prints the largest |logit - golden|.
// Prints one line: images/s (mean and best batch, wall clock) and images per
// CPU-second (process.cpuUsage: user + system of the whole process). A language
// model (an int64 input of token ids) gets ids xorshift32 % 256, the ids
// scripts/bench_float_inference.c draws, and the line adds tokens_per_window.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

function parseArgs(argv) {
    const a = {batch: 50, threads: 1, reps: 20, warmup: 2, spin: 1, providers: false, model: null,
               goldenInput: null, goldenLogits: null};
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        if (k === '--providers') {
            a.providers = true;
        } else if ((k === '--golden-input' || k === '--golden-logits') && i + 1 < argv.length) {
            a[k === '--golden-input' ? 'goldenInput' : 'goldenLogits'] = argv[++i];
        } else if (k.startsWith('--') && k.slice(2) in a && i + 1 < argv.length) {
            const v = Number(argv[++i]);
            if (!Number.isInteger(v) || v < 0)
                fail(`${k} wants a non-negative integer, got '${argv[i]}'`);
            a[k.slice(2)] = v;
        } else if (!k.startsWith('--') && a.model === null) {
            a.model = k;
        } else {
            fail(`unknown or incomplete argument '${k}'`);
        }
    }
    if (a.model === null)
        fail('usage: bench_ort.js MODEL.onnx [--batch 50] [--threads 1] [--reps 20] [--warmup 2] ' +
             '[--spin 1] [--providers]');
    if (a.batch < 1 || a.threads < 1 || a.reps < 1)
        fail('--batch, --threads and --reps must be >= 1');
    if (!a.goldenInput !== !a.goldenLogits)
        fail('--golden-input and --golden-logits go together');
    return a;
}

function fail(msg) {
    console.error(`bench_ort: ${msg}`);
    process.exit(2);
}

// xorshift32, seeded: every run times the same inputs. Images: uniform in [-1, 1);
// token ids (a language model): the same stream % 256 (any vocabulary of 256 or more)
function xorshiftInputs(n, seed, tokens) {
    const x = tokens ? new BigInt64Array(n) : new Float32Array(n);
    let s = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        x[i] = tokens ? BigInt(s % 256) : s / 4294967296 * 2 - 1;
    }
    return x;
}

// How to feed `batch` images: one call with a batch dimension of `batch` when the
// model's first input dimension is symbolic, else calls of the fixed batch size.
function batchPlan(session, batch) {
    const meta = session.inputMetadata && session.inputMetadata[0];
    if (!meta || !meta.shape)
        fail('this onnxruntime-node gives no input shapes (inputMetadata); use 1.22 or later');
    const dims = meta.shape;
    if (dims.length < 2 || dims.slice(1).some(d => typeof d !== 'number' || d < 1))
        fail(`input '${meta.name}' has shape [${dims}]: only the first (batch) dimension may be symbolic`);
    const d0 = dims[0];
    const type = meta.type === 'int64' ? 'int64' : 'float32';
    if (typeof d0 !== 'number' || d0 < 1)
        return {per: batch, calls: 1, mode: `dynamic(${d0})`, dims: dims.slice(1), type};
    if (batch % d0 !== 0)
        fail(`input batch dimension is fixed to ${d0}, which does not divide --batch ${batch}`);
    return {per: d0, calls: batch / d0, mode: `fixed${d0}x${batch / d0}`, dims: dims.slice(1), type};
}

async function providerSummary(ort, model, opts, feeds) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench_ort_'));
    const s = await ort.InferenceSession.create(model, {
        ...opts, enableProfiling: true, profileFilePrefix: path.join(dir, 'prof')});
    await s.run(feeds);
    s.endProfiling();
    await s.release();
    const counts = {};
    for (const f of fs.readdirSync(dir)) {
        for (const ev of JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))) {
            if (ev.cat !== 'Node' || !ev.args || !ev.args.provider || !ev.name.endsWith('_kernel_time'))
                continue;
            const key = `${ev.args.op_name}:${ev.args.provider}`;
            counts[key] = (counts[key] || 0) + 1;
        }
    }
    fs.rmSync(dir, {recursive: true, force: true});
    return Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ');
}

// The golden images through the session, one call each (a fixed batch of 1 and a
// symbolic one both take that): the largest |logit - golden| over all of them.
async function goldenCheck(ort, session, plan, a) {
    const [c, h, w] = plan.dims;
    const u8 = fs.readFileSync(a.goldenInput);
    const want = new Float32Array(new Uint8Array(fs.readFileSync(a.goldenLogits)).buffer);
    const n = u8.length / (c * h * w);
    if (plan.per !== 1 && plan.mode.startsWith('fixed'))
        fail(`golden check needs a batch dimension of 1 or a symbolic one (${plan.mode})`);
    if (!Number.isInteger(n) || want.length % n !== 0)
        fail(`golden files: ${u8.length} bytes of images [${h}x${w}x${c}] and ${want.length} logits do not match`);
    const classes = want.length / n;
    let worst = 0;
    for (let i = 0; i < n; i++) {
        const x = new Float32Array(c * h * w);
        for (let p = 0; p < h * w; p++)
            for (let ch = 0; ch < c; ch++)
                x[ch * h * w + p] = u8[(i * h * w + p) * c + ch] / 127.5 - 1;
        const out = await session.run({[session.inputNames[0]]: new ort.Tensor('float32', x, [1, c, h, w])});
        const y = out[session.outputNames[0]].data;
        if (y.length !== classes)
            fail(`golden check: the model gives ${y.length} logits per image, the file ${classes}`);
        for (let k = 0; k < classes; k++)
            worst = Math.max(worst, Math.abs(y[k] - want[i * classes + k]));
    }
    return worst;
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    let ort;
    try {
        ort = require('onnxruntime-node');
    } catch (e) {
        fail(`cannot load onnxruntime-node (${e.message.split('\n')[0]}); run scripts/install-npm.sh ` +
             'and set NODE_PATH=$BUILD/npm/node_modules');
    }
    if (!fs.existsSync(a.model))
        fail(`model '${a.model}' not found`);
    const opts = {
        executionProviders: ['cpu'],
        intraOpNumThreads: a.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        extra: {session: {intra_op: {allow_spinning: String(a.spin ? 1 : 0)}}},
    };
    const session = await ort.InferenceSession.create(a.model, opts);
    const plan = batchPlan(session, a.batch);
    if (a.goldenInput)
        console.log(`onnxruntime max |logit - golden| = ${(await goldenCheck(ort, session, plan, a)).toPrecision(3)}`);
    const per = plan.dims.reduce((p, d) => p * d, 1);
    const lm = plan.type === 'int64';
    const x = xorshiftInputs(per * a.batch, 1, lm);
    // one feed per call: views of the one batch, so the calls of a fixed-batch
    // model cover the same 50 images as one dynamic call
    const feeds = [];
    for (let c = 0; c < plan.calls; c++) {
        const view = x.subarray(c * plan.per * per, (c + 1) * plan.per * per);
        feeds.push({[session.inputNames[0]]: new ort.Tensor(plan.type, view, [plan.per, ...plan.dims])});
    }
    const runBatch = async () => {
        for (const f of feeds)
            await session.run(f);
    };
    for (let w = 0; w < a.warmup; w++)
        await runBatch();
    let best = Infinity, total = 0;
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < a.reps; r++) {
        const t0 = process.hrtime.bigint();
        await runBatch();
        const t = Number(process.hrtime.bigint() - t0) / 1e9;
        total += t;
        best = Math.min(best, t);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const version = ort.env.versions ? ort.env.versions.node : 'unknown';
    console.log(`onnxruntime ${version} threads=${a.threads} batch=${a.batch} ` +
                `images_per_s_mean=${(a.batch * a.reps / total).toFixed(2)} ` +
                `images_per_s_best=${(a.batch / best).toFixed(2)} ` +
                `images_per_cpu_s=${(a.batch * a.reps / cpuS).toFixed(2)} ` +
                `batch_mode=${plan.mode} spin=${a.spin ? 1 : 0}` +
                (lm ? ` tokens_per_window=${per}` : ''));
    if (a.providers)
        console.log(`onnxruntime providers: ${await providerSummary(ort, a.model, opts, feeds[0])}`);
    await session.release();
}

main().catch(e => fail(String(e && e.message || e).split('\n')[0]));
