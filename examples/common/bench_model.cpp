// bench_model.cpp — the train_step and decode sections of build/bench (see bench_model.h).
// A step is timed the way the PyTorch reference of the standard model times it:
// batches are made beforehand, the clock runs from forward to Adam's update, the first 5
// steps are warm-up and the median of the rest is the number.
#include "examples/common/bench_model.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/allocator.h"
#include "autograd/profiler.h"
#include "autograd/thread_pool.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "examples/common/timing.h"
#include "nn/decode.h"
#include "nn/optim.h"
#include "nn/transformer.h"

namespace crossgrad::bench {
namespace {

// --- Measuring ---

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Nearest rank: the smallest value that at least 90% of the values are <= to.
double p90(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t rank = std::size_t(std::ceil(0.9 * double(values.size())));
  return values[std::max<std::size_t>(rank, 1) - 1];
}

// The process's peak resident memory so far: getrusage's ru_maxrss, kilobytes on Linux.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

// --- Section: train_step ---

constexpr std::uint64_t kSeed = 0;
constexpr std::size_t kBatch = 64, kWarmupSteps = 5, kTimedSteps = 30;

// The same seeded stream of reversal batches for every thread count, so each run computes
// exactly the same thing — and must get bit-identical losses (the thread pool's promise).
std::vector<Batch> reversal_batches(std::size_t count) {
  const Vocab vocab = task_vocab(Task::reverse);
  if (vocab.size() != 13)
    fail("reversal vocab has V = " + std::to_string(vocab.size()) + ", expected 13");
  Generator gen(kSeed);
  std::vector<Batch> batches;
  for (std::size_t i = 0; i < count; ++i)
    batches.push_back(make_batch(make_examples(default_spec(Task::reverse), kBatch, gen), vocab));
  return batches;
}

struct StepTimes {
  double total = 0;     // the whole step, freeing the graph included
  double forward = 0;   // forward + sequence_cross_entropy
  double backward = 0;  // zero_grad + backward
  double update = 0;    // clip_grad_norm + Adam
  double loss = 0;
  HeapCount heap;                          // every operator new of the step, if counted
  std::uint64_t cache_requests = 0;        // tensor buffers, nodes and storages asked for
  std::uint64_t cache_heap_allocations = 0;  // ... that the cache could not serve
  std::uint64_t cache_requested_bytes = 0;
};

HeapCounter heap_counter = nullptr;

// The training path (nn/trainer.cpp's): packed rows, nothing computed for PAD. `padded`
// runs forward() and sequence_cross_entropy instead, PyTorch's way: the same loss.
enum class Path { packed, padded };

Tensor step_loss(nn::Seq2SeqTransformer& model, const Batch& batch, Path path) {
  if (path == Path::padded)  // logits (B, T, V)
    return nn::sequence_cross_entropy(model.forward(batch.src, batch.tgt_in), batch.labels,
                                      /*label_smoothing=*/0, model.config().pad_id);
  // logits (N, V) for the N labelled positions
  return nn::packed_cross_entropy(model.forward_packed(batch.src, batch.tgt_in, batch.labels),
                                  batch.labels, /*label_smoothing=*/0, model.config().pad_id);
}

StepTimes timed_step(nn::Seq2SeqTransformer& model, optim::Adam& adam, const Batch& batch,
                     Path path = Path::packed) {
  StepTimes t;
  const HeapCount heap_before = heap_counter ? heap_counter() : HeapCount{};
  const AllocatorStats cache_before = allocator_stats();
  const Clock::time_point start = Clock::now();
  {
    Tensor loss = step_loss(model, batch, path);
    t.forward = ms_since(start);
    const Clock::time_point backward_start = Clock::now();
    adam.zero_grad();
    loss.backward();
    t.backward = ms_since(backward_start);
    const Clock::time_point update_start = Clock::now();
    const double norm = optim::clip_grad_norm(adam.parameters(), 1.0);
    t.loss = double(loss.item());
    if (!std::isfinite(t.loss) || !std::isfinite(norm))
      fail("training step: loss " + std::to_string(t.loss) + ", gradient norm " +
           std::to_string(norm) + ": not finite");
    adam.step();
    t.update = ms_since(update_start);
  }
  t.total = ms_since(start);
  if (heap_counter) {
    const HeapCount heap_after = heap_counter();
    t.heap = {heap_after.allocations - heap_before.allocations,
              heap_after.bytes - heap_before.bytes};
  }
  const AllocatorStats cache_after = allocator_stats();
  t.cache_requests = cache_after.requests - cache_before.requests;
  t.cache_heap_allocations = cache_after.heap_allocations - cache_before.heap_allocations;
  t.cache_requested_bytes = cache_after.requested_bytes - cache_before.requested_bytes;
  return t;
}

struct TrainRun {
  std::vector<StepTimes> timed;  // the steps after warm-up
  std::vector<double> losses;    // every step's, warm-up included
};

optim::AdamOptions standard_adam() {
  optim::AdamOptions options;
  options.lr = 1e-3;
  options.beta1 = 0.9;
  options.beta2 = 0.98;
  options.eps = 1e-9;
  return options;
}

// A fresh standard model (seed 0) and Adam as the standard recipe trains it, over `batches`.
TrainRun train_at(std::size_t threads, const std::vector<Batch>& batches,
                  Path path = Path::packed) {
  release_cached_blocks();  // each run starts as a fresh program would, its memory its own
  set_num_threads(threads);
  nn::Seq2SeqTransformer model(nn::TransformerConfig{}, kSeed);
  model.train();
  optim::Adam adam(model.parameters(), standard_adam());
  TrainRun run;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const StepTimes t = timed_step(model, adam, batches[i], path);
    run.losses.push_back(t.loss);
    if (i >= kWarmupSteps) run.timed.push_back(t);
  }
  return run;
}

template <typename Field>
std::vector<double> column(const std::vector<StepTimes>& steps, Field field) {
  std::vector<double> values;
  for (const StepTimes& t : steps) values.push_back(t.*field);
  return values;
}

// Label tokens (non-PAD) a timed step trains on, on average.
double mean_label_tokens(const std::vector<Batch>& batches) {
  double sum = 0;
  for (std::size_t i = kWarmupSteps; i < batches.size(); ++i)
    sum += double(batches[i].label_tokens);
  return sum / double(batches.size() - kWarmupSteps);
}

void print_train_row(const char* threads, const TrainRun& run, double tokens_per_step) {
  const double step = median(column(run.timed, &StepTimes::total));
  std::printf("%7s %9.1f %7.1f %9.1f %9.1f %10.2f %9.1f %10.0f\n", threads, step,
              p90(column(run.timed, &StepTimes::total)),
              median(column(run.timed, &StepTimes::forward)),
              median(column(run.timed, &StepTimes::backward)),
              median(column(run.timed, &StepTimes::update)), 1000 / step,
              tokens_per_step * 1000 / step);
}

// The heap traffic of the steps after warm-up: the median step and the most of any step (a
// batch of lengths not seen before can need a block of a size class not cached yet).
void print_heap_notes(const TrainRun& run) {
  const auto stat = [&](auto field) {
    std::vector<double> values;
    for (const StepTimes& t : run.timed) values.push_back(double(field(t)));
    return std::pair{median(values), *std::max_element(values.begin(), values.end())};
  };
  const auto heap = stat([](const StepTimes& t) { return t.heap.allocations; });
  const auto heap_mb = stat([](const StepTimes& t) { return t.heap.bytes / 1e6; });
  const auto requests = stat([](const StepTimes& t) { return t.cache_requests; });
  const auto requested_mb = stat([](const StepTimes& t) { return t.cache_requested_bytes / 1e6; });
  const auto misses = stat([](const StepTimes& t) { return t.cache_heap_allocations; });
  if (heap_counter)
    std::printf("heap per step after warm-up, median (most): %.0f (%.0f) allocations of %.2f "
                "(%.2f) MB, every operator new\n",
                heap.first, heap.second, heap_mb.first, heap_mb.second);
  std::printf("tensor cache per step, median (most): %.0f (%.0f) requests for %.1f (%.1f) MB, "
              "%.0f (%.0f) of them new heap blocks\n",
              requests.first, requests.second, requested_mb.first, requested_mb.second,
              misses.first, misses.second);
}

void print_train_notes(const std::vector<TrainRun>& runs, double rss_before, std::size_t params) {
  const std::vector<double>& losses = runs.front().losses;
  const bool identical = std::all_of(runs.begin(), runs.end(),
                                     [&](const TrainRun& run) { return run.losses == losses; });
  std::printf("ms per step, %zu steps after %zu warm-up; forward = forward_packed + loss (the "
              "training path,\nno work for PAD; \"1 padded\": forward() on the padded batch, "
              "the same loss), backward = zero_grad +\nbackward, update = clip_grad_norm + Adam; "
              "a step also frees its graph. tok/s counts non-PAD labels.\n",
              kTimedSteps, kWarmupSteps);
  std::printf("against PyTorch on this machine, side by side: build/bench compare\n");
  std::printf("model: %zu parameters; loss %.4f at step 1 -> %.4f at step %zu; losses at 1 and 2 "
              "threads %s\n",
              params, losses.front(), losses.back(), losses.size(),
              identical ? "bit-identical" : "DIFFER (the pool promises bit-identical results)");
  std::printf("peak resident memory (ru_maxrss): %.1f MB after the steps, %.1f MB before them\n",
              peak_rss_mb(), rss_before);
}

// --- Section: compare ---

constexpr const char* kTwinScript = "examples/pytorch/seq2seq_twin.py";
constexpr std::size_t kCompareRounds = 3;

// The number after "key": in the twin's one-line JSON report, or NaN.
double json_number(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}
std::string json_string(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\": \"");
  if (at == std::string::npos) return "";
  const std::size_t begin = at + key.size() + 5;
  return json.substr(begin, json.find('"', begin) - begin);
}

// Everything a command prints on stdout (stderr goes to /dev/null), and whether it exited 0.
bool run_command(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return false;
  char buffer[4096];
  output.clear();
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  return pclose(pipe) == 0;
}

// The first interpreter that imports torch, or "" (and the ones tried, for the message).
std::string find_torch_python(std::string& tried) {
  std::vector<std::string> candidates;
  if (const char* chosen = std::getenv("CROSSGRAD_PYTHON")) candidates.push_back(chosen);
  candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
  for (const std::string& python : candidates) {
    tried += (tried.empty() ? "" : ", ") + python;
    std::string ignored;
    if (run_command("'" + python + "' -c 'import torch'", ignored)) return python;
  }
  return "";
}

struct TwinRun {
  double step_ms = std::nan("");
  std::string report;  // the JSON line
};

TwinRun run_twin(const std::string& python, std::size_t threads) {
  TwinRun run;
  const std::string command = "'" + python + "' " + kTwinScript + " --threads " +
                              std::to_string(threads) + " --steps " +
                              std::to_string(kWarmupSteps + kTimedSteps);
  if (!run_command(command, run.report))
    fail("compare: `" + command + "` failed; run it by hand to see why");
  run.step_ms = json_number(run.report, "step_ms_median");
  return run;
}

void compare_with_twin() {
  const std::size_t previous = num_threads();
  std::string tried;
  const std::string python = std::ifstream(kTwinScript) ? find_torch_python(tried) : "";
  if (python.empty()) {
    const std::string why =
        tried.empty() ? std::string(kTwinScript) + " not found (run from the repository root)"
                      : "no python3 that imports torch (tried " + tried + ")";
    std::printf("no PyTorch twin: %s; crossgrad alone\n", why.c_str());
  }
  const std::vector<Batch> batches = reversal_batches(kWarmupSteps + kTimedSteps);
  std::vector<double> ours[2], theirs[2];
  std::string report;
  for (std::size_t round = 0; round < kCompareRounds; ++round)
    for (std::size_t threads : {1, 2}) {  // alternating, so a busy moment hits both
      ours[threads - 1].push_back(median(column(train_at(threads, batches).timed,
                                                &StepTimes::total)));
      if (python.empty()) continue;
      const TwinRun twin = run_twin(python, threads);
      theirs[threads - 1].push_back(twin.step_ms);
      report = twin.report;
    }
  set_num_threads(previous);
  const std::string blas = json_string(report, "blas");
  const bool openblas = blas.rfind("openblas", 0) == 0;
  if (!python.empty())
    std::printf("PyTorch twin: %s with %s, torch %s, %.0f parameters\n", python.c_str(),
                blas.c_str(), json_string(report, "torch").c_str(),
                json_number(report, "params"));
  std::printf("crossgrad runs its training path (packed rows, no work on PAD); PyTorch the "
              "padded batch,\nas nn.Transformer takes it: the same loss\n");
  if (!python.empty() && !openblas)
    std::printf("PyTorch did not load OpenBLAS, so its times measure its fallback BLAS: no "
                "ratio (Debian: apt-get install libopenblas0-pthread)\n");
  std::printf("%7s %13s %11s %7s   medians of %zu rounds, each the median of %zu steps\n",
              "threads", "crossgrad ms", "pytorch ms", "ratio", kCompareRounds, kTimedSteps);
  for (std::size_t t = 0; t < 2; ++t) {
    const double mine = median(ours[t]);
    if (python.empty()) {
      std::printf("%7zu %13.1f %11s %7s\n", t + 1, mine, "-", "-");
      continue;
    }
    const double torch_ms = median(theirs[t]);
    if (openblas)
      std::printf("%7zu %13.1f %11.1f %7.2f\n", t + 1, mine, torch_ms, mine / torch_ms);
    else
      std::printf("%7zu %13.1f %11.1f %7s\n", t + 1, mine, torch_ms, "-");
  }
  std::printf("crossgrad at 2 threads: %.2fx the speed of 1 thread\n",
              median(ours[0]) / median(ours[1]));
}

// --- Section: decode ---

constexpr std::size_t kHeldOut = 1000, kDecodeBatch = 250;

// The held-out reversal sources (the separate seed evaluation uses), kDecodeBatch rows each.
std::vector<TokenMatrix> held_out_sources() {
  const Vocab vocab = task_vocab(Task::reverse);
  const std::vector<Pair> pairs = make_held_out(default_spec(Task::reverse), kHeldOut, kSeed);
  std::vector<TokenMatrix> batches;
  for (std::size_t begin = 0; begin < pairs.size(); begin += kDecodeBatch) {
    std::vector<std::vector<std::int64_t>> sources;
    for (std::size_t i = begin; i < std::min(begin + kDecodeBatch, pairs.size()); ++i)
      sources.push_back(vocab.encode(pairs[i].source));
    batches.push_back(make_source_batch(sources));
  }
  return batches;
}

struct DecodeRun {
  double ms = 0;                  // greedy_decode calls only
  std::size_t tokens = 0;         // generated, EOS included
  std::size_t at_max_len = 0;     // rows stopped by max_len, not by EOS
  std::size_t max_len_steps = 0;  // the largest max_len of the batches (2·S + 10)
  std::vector<std::vector<std::int64_t>> outputs;
};

DecodeRun decode_all(nn::Seq2SeqTransformer& model, const std::vector<TokenMatrix>& sources,
                     bool use_cache) {
  nn::DecodeOptions options;
  options.use_cache = use_cache;
  DecodeRun run;
  for (const TokenMatrix& src : sources) {
    const Clock::time_point start = Clock::now();
    const std::vector<nn::Hypothesis> hypotheses = nn::greedy_decode(model, src, options);
    run.ms += ms_since(start);
    const std::size_t max_len = std::min(2 * src.cols + 10, model.config().max_len);
    run.max_len_steps = std::max(run.max_len_steps, max_len);
    for (const nn::Hypothesis& h : hypotheses) {
      if (!std::isfinite(h.log_prob) || h.tokens.empty())
        fail("greedy_decode: a row decoded to " + std::to_string(h.tokens.size()) +
             " tokens with log p " + std::to_string(h.log_prob));
      run.tokens += h.tokens.size();
      run.at_max_len += h.tokens.size() == max_len && h.tokens.back() != EOS;
      run.outputs.push_back(h.tokens);
    }
  }
  return run;
}

void print_decode_row(const char* name, const DecodeRun& run) {
  std::printf("%-10s %10.1f %12.0f %12zu %14zu\n", name, run.ms, double(run.tokens) * 1000 / run.ms,
              run.tokens, run.at_max_len);
}

}  // namespace

void train_step(HeapCounter heap) {
  heap_counter = heap;
  const double rss_before = peak_rss_mb();
  const std::size_t previous = num_threads();
  const std::vector<Batch> batches = reversal_batches(kWarmupSteps + kTimedSteps);
  const double tokens_per_step = mean_label_tokens(batches);
  std::printf("%7s %9s %7s %9s %9s %10s %9s %10s\n", "threads", "step ms", "p90", "forward",
              "backward", "update", "steps/s", "tok/s");
  std::vector<TrainRun> runs;
  double round_trip = 0;  // ns, just before the 2-thread run: how far apart its cores are
  for (std::size_t threads : {1, 2}) {
    if (threads == 2) round_trip = round_trip_ns();
    runs.push_back(train_at(threads, batches));
    print_train_row(threads == 1 ? "1" : "2", runs.back(), tokens_per_step);
  }
  // The same step on the padded batch, for comparison: what packing saves.
  const TrainRun padded = train_at(1, batches, Path::padded);
  print_train_row("1 padded", padded, tokens_per_step);
  set_num_threads(previous);
  print_train_notes(runs, rss_before, nn::Seq2SeqTransformer().num_parameters());
  std::printf("a cache line to the other core and back, before the 2-thread run: %.0f ns "
              "(docs/performance.md:\nthe farther apart the cores, the less the second "
              "thread saves)\n", round_trip);
  print_heap_notes(runs.back());
}

void compare() { compare_with_twin(); }

namespace {

// The profile of kProfiled standard steps at `threads` threads, after kWarmup unprofiled.
constexpr std::size_t kWarmup = 5, kProfiled = 20;
Profile profile_at(std::size_t threads, const std::vector<Batch>& batches) {
  set_num_threads(threads);
  nn::Seq2SeqTransformer model(nn::TransformerConfig{}, kSeed);
  model.train();
  optim::Adam adam(model.parameters(), standard_adam());
  for (std::size_t i = 0; i < kWarmup; ++i) timed_step(model, adam, batches[i]);
  start_profiling();
  for (std::size_t i = kWarmup; i < batches.size(); ++i) timed_step(model, adam, batches[i]);
  return stop_profiling();
}

// Per op, ms per step at 1 and at 2 threads and the speed-up: which parts of the step the
// second thread helps. Ops whose work is too small to split show about 1.0x.
void print_scaling(const Profile& one, const Profile& two) {
  const double per = 1.0 / double(kProfiled);
  const auto ms_of = [&](const Profile& p, const std::string& op) {
    for (const OpProfile& r : p.ops)
      if (r.op == op) return (r.forward_ms + r.backward_ms) * per;
    return 0.0;
  };
  const auto row = [](const char* name, double a, double b) {
    std::printf("%-30s %9.2f %9.2f %8.2fx\n", name, a, b, b > 0 ? a / b : 0.0);
  };
  std::printf("%-30s %9s %9s %9s\n", "op (fwd + bwd ms per step)", "1 thread", "2 threads",
              "speed-up");
  double ops_one = 0, ops_two = 0;
  for (const OpProfile& r : one.ops) {
    const double a = (r.forward_ms + r.backward_ms) * per, b = ms_of(two, r.op);
    ops_one += a;
    ops_two += b;
    row(r.op.c_str(), a, b);
  }
  row("(backward engine)", one.engine_ms * per, two.engine_ms * per);
  row("(outside ops)", one.total_ms * per - ops_one - one.engine_ms * per,
      two.total_ms * per - ops_two - two.engine_ms * per);
  row("step", one.total_ms * per, two.total_ms * per);
}

}  // namespace

void profile() {
  const std::size_t previous = num_threads();
  const std::vector<Batch> batches = reversal_batches(kWarmup + kProfiled);
  const Profile one = profile_at(1, batches);
  const Profile two = profile_at(2, batches);
  set_num_threads(previous);
  std::printf("%zu standard steps (batch 64, reversal, lengths 1-16) after %zu warm-up, 1 thread;"
              "\nms and MB per step (MB: tensor memory asked for), sorted by total time\n",
              kProfiled, kWarmup);
  std::printf("%s", profile_table(one, kProfiled).c_str());
  std::printf("\nthe same steps at 1 and 2 threads:\n");
  print_scaling(one, two);
}

void decode() {
  nn::Seq2SeqTransformer model(nn::TransformerConfig{}, kSeed);  // untrained: rows rarely stop
  model.eval();
  const std::vector<TokenMatrix> sources = held_out_sources();
  std::printf("%-10s %10s %12s %12s %14s\n", "decoder", "ms", "tokens/s", "tokens",
              "rows at max_len");
  const DecodeRun cached = decode_all(model, sources, true);
  print_decode_row("cached", cached);
  const DecodeRun uncached = decode_all(model, sources, false);
  print_decode_row("uncached", uncached);
  std::size_t same = 0;
  for (std::size_t i = 0; i < cached.outputs.size(); ++i)
    same += cached.outputs[i] == uncached.outputs[i];
  std::printf("%zu held-out sources in batches of %zu, %zu thread(s). Random weights rarely emit "
              "EOS,\nso rows run to max_len = 2*S + 10 (up to %zu tokens). Cache speed-up "
              "%.1fx;\n%zu/%zu rows decode to the same tokens both ways.\n",
              kHeldOut, kDecodeBatch, num_threads(), cached.max_len_steps, uncached.ms / cached.ms,
              same, cached.outputs.size());
  std::printf("peak resident memory (ru_maxrss) after decoding: %.1f MB\n", peak_rss_mb());
}

}  // namespace crossgrad::bench
