// Solution to exercise 10.2 (docs/10-your-own-data.md): a search error or a model error?
// For each wrong answer of the test file, nn::score gives the log-probability of the right
// answer. If it is higher than that of what greedy decoding wrote, the model preferred the
// right answer and the search missed it (a better search, such as a wider beam, can fix it);
// if it is lower, the model itself prefers its wrong answer and no search will find the
// right one. Then beam search with 8 beams decodes each again.
// Result: every wrong answer is a model error; the right answer is less likely, by factors
// from about 1.4 to 66,000, and beam search fixes none of them. The fix is in the data or
// the training, not in decoding.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tsv.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/numbers.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const TsvDataset test = TsvDataset::load("docs/data/numbers.test.tsv", TokenMode::words);
  std::size_t wrong = 0, model_errors = 0, fixed_by_beam = 0;
  nn::DecodeOptions beam8;
  beam8.beam = 8;
  for (const Pair& pair : test.pairs()) {
    const TokenMatrix src = make_source_batch({vocab.encode(pair.source)});
    const nn::Hypothesis greedy = nn::greedy_decode(model, src)[0];
    if (vocab.decode(greedy.tokens) == pair.target) continue;
    ++wrong;
    const Batch right = make_batch({pair}, vocab);
    const double right_log_p = nn::score(model, right.src, right.tgt_in, right.labels)[0];
    const bool model_error = right_log_p < greedy.log_prob;
    const std::string beam = vocab.decode(nn::beam_search(model, src, beam8)[0].tokens);
    model_errors += model_error;
    fixed_by_beam += beam == pair.target;
    std::printf("%-38s greedy %-10s log p %7.3f, right %-10s log p %7.3f: %s error; beam 8: %s\n",
                pair.source.c_str(), vocab.decode(greedy.tokens).c_str(), greedy.log_prob,
                pair.target.c_str(), right_log_p, model_error ? "model" : "search", beam.c_str());
  }
  std::printf("%zu wrong answers: %zu model errors, %zu fixed by beam search\n", wrong, model_errors,
              fixed_by_beam);
  return wrong > 0 && model_errors == wrong && fixed_by_beam == 0 ? 0 : 1;
}
