// vocab.h — the vocabulary: ids for PAD, BOS, EOS (below), then the symbols of a
// task or of a data file, and the text <-> ids conversions. Tokens are Unicode code points
// by default (UTF-8 is decoded strictly: malformed bytes are errors naming the byte offset)
// or whitespace-separated words on request. Read next: data/tasks.h, data/batch.h.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/shape.h"  // Error, thrown on every mistake

namespace crossgrad {

// The special ids every vocabulary starts with. nn/ does not know them: the application that
// builds a model for a vocabulary puts them in its config (TransformerConfig's pad_id, ...).
inline constexpr std::int64_t PAD = 0;
inline constexpr std::int64_t BOS = 1;
inline constexpr std::int64_t EOS = 2;

// One example as text, before any ids: what tasks generate and TSV files hold.
struct Pair {
  std::string source, target;
};

// How text is cut into tokens: one per code point, or one per whitespace-separated word.
enum class TokenMode { characters, words };
std::string to_string(TokenMode mode);                // "characters" or "words"
TokenMode parse_token_mode(const std::string& name);  // the inverse; throws on anything else

// The byte offset of the first malformed UTF-8 sequence in text, or std::string::npos.
// Strict (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
std::size_t find_malformed_utf8(const std::string& text);

// text cut into tokens; throws "<what>: malformed UTF-8 at byte offset N" on bad input.
std::vector<std::string> split_code_points(const std::string& text, const char* what = "vocab");
std::vector<std::string> split_words(const std::string& text, const char* what = "vocab");

class Vocab {
 public:
  // symbols get ids 3, 4, ... in the order given; they must be distinct and non-empty, one
  // code point each in characters mode, free of whitespace in words mode.
  Vocab(TokenMode mode, std::vector<std::string> symbols);

  // Every distinct token of texts, in byte (= code point) order, so the ids do not depend
  // on the order of the lines they came from.
  static Vocab from_texts(const std::vector<std::string>& texts, TokenMode mode);

  // The whole vocabulary as one string for checkpoint metadata, and back (see vocab.cpp
  // for the format). deserialize rejects anything serialize could not have written.
  std::string serialize() const;
  static Vocab deserialize(const std::string& text);

  std::vector<std::string> tokenize(const std::string& text) const;
  // ids of text's tokens, without BOS/EOS; an unknown symbol is an error naming it.
  std::vector<std::int64_t> encode(const std::string& text) const;
  // The text of ids up to the first EOS, skipping PAD and BOS; words are joined by spaces.
  std::string decode(const std::vector<std::int64_t>& ids) const;

  std::size_t size() const { return 3 + symbols_.size(); }  // V: PAD, BOS, EOS + symbols
  TokenMode mode() const { return mode_; }
  const std::vector<std::string>& symbols() const { return symbols_; }
  bool contains(const std::string& symbol) const { return ids_.count(symbol) != 0; }
  std::int64_t id_of(const std::string& symbol) const;  // throws for an unknown symbol
  std::string symbol(std::int64_t id) const;            // "<pad>", "<bos>", "<eos>" or a symbol

  bool operator==(const Vocab& other) const {
    return mode_ == other.mode_ && symbols_ == other.symbols_;
  }
  bool operator!=(const Vocab& other) const { return !(*this == other); }

 private:
  [[noreturn]] void fail_unknown(const std::string& symbol, std::size_t position) const;

  TokenMode mode_;
  std::vector<std::string> symbols_;                   // symbols_[i] has id i + 3
  std::unordered_map<std::string, std::int64_t> ids_;  // symbol -> id
};

// A symbol as it reads in an error message: 'x', or U+0020 for spaces and control codes.
std::string describe_symbol(const std::string& symbol);

}  // namespace crossgrad
