// fuzz_vocab.cpp — data/vocab.h: a vocabulary read from a checkpoint's metadata
// (Vocab::deserialize), one built from text (from_texts), and text turned into ids and back,
// in the token mode the first byte picks. The input after that byte is cut at its first '\0'
// into the text the vocabulary is built from and the text to encode.
#include "data/vocab.h"
#include "fuzzing.h"

using namespace crossgrad;

namespace {

// What decode(encode(text)) must give: the text itself, or its words joined by one space.
std::string normalised(const std::string& text, TokenMode mode) {
  if (mode == TokenMode::characters) return text;
  std::string joined;
  for (const std::string& word : split_words(text)) joined += (joined.empty() ? "" : " ") + word;
  return joined;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const TokenMode mode = data[0] & 1 ? TokenMode::words : TokenMode::characters;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {  // the whole input as a serialised vocabulary
    const Vocab vocab = Vocab::deserialize(rest);
    fuzzing::require(Vocab::deserialize(vocab.serialize()) == vocab, "vocab: round trip");
  } catch (const Error&) {
  }
  const std::size_t cut = rest.find('\0');
  const std::string symbols_text = rest.substr(0, cut);
  const std::string input = cut == std::string::npos ? symbols_text : rest.substr(cut + 1);
  try {
    const Vocab vocab = Vocab::from_texts({symbols_text}, mode);
    fuzzing::require(Vocab::deserialize(vocab.serialize()) == vocab, "vocab: round trip");
    for (const std::string& symbol : vocab.symbols()) {
      fuzzing::require(vocab.symbol(vocab.id_of(symbol)) == symbol, "vocab: id_of/symbol");
      describe_symbol(symbol);
    }
    const std::vector<std::int64_t> ids = vocab.encode(input);  // may throw: unknown symbol
    fuzzing::require(vocab.tokenize(input).size() == ids.size(), "vocab: tokens and ids differ");
    fuzzing::require(vocab.decode(ids) == normalised(input, mode), "vocab: decode(encode(x))");
  } catch (const Error&) {
  }
  return 0;
}
