// Solution to exercise 10.1 (docs/10-your-own-data.md): test the hypothesis on more data.
// The test file held only 5 pairs of 3 words, too few to say much. Every 3-digit number
// (100..999) is written in words here, as docs/data/make_numbers.py writes them, and decoded,
// beside 900 random 4-digit and 900 random 5-digit numbers.
// Result: the model gets fewer than half of the 3-digit numbers right and nearly all of the
// longer ones. Uniform draws from 0..99999 made 90% of the training file 5-digit numbers and
// under 1% 3-digit ones: the model is good at what it saw often.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "data/batch.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

const char* const kOnes[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                             "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                             "sixteen", "seventeen", "eighteen", "nineteen"};
const char* const kTens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                             "eighty", "ninety"};

// 7098 -> "seven thousand ninety eight", as make_numbers.py writes it.
std::string words(int n) {
  if (n < 20) return kOnes[n];
  if (n < 100) return std::string(kTens[n / 10]) + (n % 10 ? std::string(" ") + kOnes[n % 10] : "");
  if (n < 1000) return std::string(kOnes[n / 100]) + " hundred" + (n % 100 ? " " + words(n % 100) : "");
  return words(n / 1000) + " thousand" + (n % 1000 ? " " + words(n % 1000) : "");
}

std::string digits(int n) {  // 7098 -> "7 0 9 8"
  std::string text;
  for (const char c : std::to_string(n)) text += text.empty() ? std::string(1, c) : std::string(" ") + c;
  return text;
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/numbers.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  std::mt19937 random(5);
  std::vector<double> accuracy;
  for (const int digit_count : {3, 4, 5}) {
    const int low = digit_count == 3 ? 100 : digit_count == 4 ? 1000 : 10000;
    std::vector<int> numbers;
    for (int i = 0; i < 900; ++i)
      numbers.push_back(digit_count == 3 ? 100 + i : std::uniform_int_distribution<int>(low, 10 * low - 1)(random));
    std::size_t right = 0;
    for (std::size_t first = 0; first < numbers.size(); first += 150) {
      std::vector<std::vector<std::int64_t>> sources;
      for (std::size_t i = first; i < first + 150; ++i) sources.push_back(vocab.encode(words(numbers[i])));
      const std::vector<nn::Hypothesis> out = nn::greedy_decode(model, make_source_batch(sources));
      for (std::size_t i = 0; i < out.size(); ++i) right += vocab.decode(out[i].tokens) == digits(numbers[first + i]);
    }
    accuracy.push_back(double(right) / double(numbers.size()));
    std::printf("%d-digit numbers: %zu of %zu right (%.1f%%)%s\n", digit_count, right, numbers.size(),
                100 * accuracy.back(), digit_count == 3 ? ", every one from 100 to 999" : ", drawn at random");
  }
  return accuracy[0] < 0.75 && accuracy[1] > 0.9 && accuracy[2] > 0.9 ? 0 : 1;
}
