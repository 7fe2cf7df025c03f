// C shim over Google Benchmark: see gbench_shim.h. A reporter collects each
// benchmark's per-call real and CPU time (the "median" aggregate when repeated);
// the JSON file reporter the library builds from --benchmark_out writes
// kernels_gbench.json unchanged.
#include "bench/gbench_shim.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct Entry {
    std::string name;
    zp_gb_fn fn;
    void *ctx;
    double ops;
};

std::vector<Entry> &entries()
{
    static std::vector<Entry> e;
    return e;
}

double to_ns(double t, benchmark::TimeUnit u)
{
    switch (u) {
    case benchmark::kSecond: return t * 1e9;
    case benchmark::kMillisecond: return t * 1e6;
    case benchmark::kMicrosecond: return t * 1e3;
    default: return t;
    }
}

class Collector : public benchmark::BenchmarkReporter {
  public:
    struct Row {
        double real_ns = 0, cpu_ns = 0, iterations = 0;
        int reps = 0;
        bool have_median = false, error = false;
    };
    std::map<std::string, Row> rows;
    bool quiet = true;

    bool ReportContext(const Context &) override { return true; }

    void ReportRuns(const std::vector<Run> &reports) override
    {
        for (const Run &r : reports) {
            std::string base = r.run_name.function_name;
            Row &row = rows[base];
            if (r.error_occurred) {
                row.error = true;
                continue;
            }
            double rn = to_ns(r.GetAdjustedRealTime(), r.time_unit);
            double cn = to_ns(r.GetAdjustedCPUTime(), r.time_unit);
            if (r.run_type == Run::RT_Aggregate) {
                if (r.aggregate_name == "median") {
                    row.real_ns = rn;
                    row.cpu_ns = cn;
                    row.have_median = true;
                }
                continue;
            }
            row.reps++;
            row.iterations = static_cast<double>(r.iterations);
            if (!row.have_median) { // single repetition: the run itself
                row.real_ns = rn;
                row.cpu_ns = cn;
            }
            if (!quiet)
                std::fprintf(stderr, "  %-60s real %10.0f  cpu %10.0f ns/call (rep %d)\n", base.c_str(), rn, cn,
                             row.reps);
        }
    }
};

} // namespace

extern "C" int zp_gb_register(const char *name, zp_gb_fn fn, void *ctx, double ops_per_call, double min_time_s)
{
    if (!name || !fn)
        return -1;
    entries().push_back(Entry{name, fn, ctx, ops_per_call});
    Entry e = entries().back();
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(name, [e](benchmark::State &st) {
        for (auto _ : st)
            e.fn(e.ctx);
        // ops/s as a user counter: Google Benchmark's JSON then carries throughput too
        st.counters["ops"] = benchmark::Counter(e.ops, benchmark::Counter::kIsIterationInvariantRate);
    });
    b->UseRealTime()->Unit(benchmark::kNanosecond);
    if (min_time_s > 0)
        b->MinTime(min_time_s);
    return 0;
}

extern "C" int zp_gb_run(int nargs, const char *const *args, int quiet, struct zp_gb_result *out, int max)
{
    std::vector<std::string> store;
    store.push_back("harness");
    for (int i = 0; i < nargs; i++)
        store.push_back(args[i]);
    std::vector<char *> argv;
    for (std::string &s : store)
        argv.push_back(&s[0]);
    argv.push_back(nullptr);
    int argc = static_cast<int>(store.size());
    benchmark::Initialize(&argc, argv.data());
    if (benchmark::ReportUnrecognizedArguments(argc, argv.data()))
        return -1;
    Collector col;
    col.quiet = quiet != 0;
    benchmark::RunSpecifiedBenchmarks(&col, nullptr);
    int n = 0;
    for (const Entry &e : entries()) {
        if (n >= max)
            break;
        auto it = col.rows.find(e.name);
        zp_gb_result &r = out[n++];
        std::memset(&r, 0, sizeof r);
        std::snprintf(r.name, sizeof r.name, "%s", e.name.c_str());
        r.ops_per_call = e.ops;
        if (it == col.rows.end()) {
            r.error = 1;
            continue;
        }
        r.real_ns = it->second.real_ns;
        r.cpu_ns = it->second.cpu_ns;
        r.iterations = it->second.iterations;
        r.repetitions = it->second.reps;
        r.error = it->second.error || r.real_ns <= 0;
    }
    return n;
}

extern "C" void zp_gb_clear(void)
{
    benchmark::ClearRegisteredBenchmarks();
    entries().clear();
}
