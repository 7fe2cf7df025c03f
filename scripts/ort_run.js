// Runs one ONNX model in ONNX Runtime on raw float32 inputs and writes its raw
// float32 outputs: the bridge the export tests use to compare ORT's execution of
// a `harness export` file with the harness's own pass of the same cell.
//
// usage: NODE_PATH=$BUILD/npm/node_modules node scripts/ort_run.js MODEL.onnx IN.f32 OUT.f32
//            --shape N,C,H,W [--threads 1] [--no-opt]
// IN.f32 holds N examples in the model's input layout (little-endian float32);
// OUT.f32 receives the first output, N rows. --no-opt turns ORT's graph
// optimizations off (QDQ then runs as float DequantizeLinear -> Conv, not as the
// fused integer QLinearConv). Exit status: 0 written, 1 ORT failed on the model,
// 2 usage or input error.
'use strict';
const fs = require('fs');

function fail(msg, code) {
    console.error(`ort_run: ${msg}`);
    process.exit(code);
}

function parseArgs(argv) {
    const a = {pos: [], shape: null, threads: 1, opt: true};
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        if (k === '--shape' && i + 1 < argv.length) {
            a.shape = argv[++i].split(',').map(Number);
            if (a.shape.length < 1 || a.shape.some(d => !Number.isInteger(d) || d < 1))
                fail(`--shape wants positive integers N,C,H,W, got '${argv[i]}'`, 2);
        } else if (k === '--threads' && i + 1 < argv.length) {
            a.threads = Number(argv[++i]);
            if (!Number.isInteger(a.threads) || a.threads < 1)
                fail(`--threads wants a positive integer, got '${argv[i]}'`, 2);
        } else if (k === '--no-opt') {
            a.opt = false;
        } else if (!k.startsWith('--')) {
            a.pos.push(k);
        } else {
            fail(`unknown or incomplete argument '${k}'`, 2);
        }
    }
    if (a.pos.length !== 3 || !a.shape)
        fail('usage: ort_run.js MODEL.onnx IN.f32 OUT.f32 --shape N,C,H,W [--threads 1] [--no-opt]', 2);
    return a;
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    const [model, inPath, outPath] = a.pos;
    let ort;
    try {
        ort = require('onnxruntime-node');
    } catch (e) {
        fail('onnxruntime-node is not installed (scripts/install-npm.sh; NODE_PATH=$BUILD/npm/node_modules)', 2);
    }
    const raw = fs.readFileSync(inPath);
    const count = a.shape.reduce((p, d) => p * d, 1);
    if (raw.length !== count * 4)
        fail(`${inPath}: ${raw.length} bytes, the shape ${a.shape.join('x')} needs ${count * 4}`, 2);
    const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    let session;
    try {
        session = await ort.InferenceSession.create(model, {
            intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: 'sequential',
            graphOptimizationLevel: a.opt ? 'all' : 'disabled'});
    } catch (e) {
        fail(`${model}: ONNX Runtime cannot load it: ${e.message}`, 1);
    }
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', x, a.shape);
    let res;
    try {
        res = await session.run(feeds);
    } catch (e) {
        fail(`${model}: ONNX Runtime failed: ${e.message}`, 1);
    }
    const y = res[session.outputNames[0]].data;
    const tmp = `${outPath}.tmp${process.pid}`;
    fs.writeFileSync(tmp, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    fs.renameSync(tmp, outPath);
}

main().catch(e => fail(e.message, 1));
