// vocab.cpp — Vocab and the UTF-8 helpers (see vocab.h).
// Serialised form, one string for checkpoint metadata:
//   line 1   "crossgrad-vocab 1 characters" (or "... words")
//   line 2+  one symbol a line, in id order (ids 3, 4, ...), with '\' written "\\",
//            a newline "\n" and a carriage return "\r", so every symbol fits on one line.
// PAD/BOS/EOS are implied and not written. Symbols are never empty, so no line is either.
#include "data/vocab.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace crossgrad {

namespace {

const char* const kHeader = "crossgrad-vocab 1 ";

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// The length of the valid UTF-8 sequence that starts at text[at], or 0 if there is none.
std::size_t sequence_length(const std::string& text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {     // 0xC0, 0xC1 could only start overlong forms
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // below: overlong
    if (lead == 0xED) high = 0x9F;  // above: UTF-16 surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // below: overlong
    if (lead == 0xF4) high = 0x8F;  // above: beyond U+10FFFF
  } else {
    return 0;
  }
  if (at + length > text.size() || byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
  return length;
}

void check_utf8(const std::string& text, const char* what) {
  const std::size_t bad = find_malformed_utf8(text);
  if (bad == std::string::npos) return;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", unsigned(static_cast<unsigned char>(text[bad])));
  fail(std::string(what) + ": malformed UTF-8 at byte offset " + std::to_string(bad) + " (byte " +
       byte + ")");
}

// The code point of a one-code-point string (valid UTF-8, checked by the caller).
std::uint32_t code_point(const std::string& s) {
  // The lead byte keeps 7, 5, 4 or 3 payload bits; each continuation byte adds 6.
  static const std::uint32_t lead_mask[] = {0x7F, 0x1F, 0x0F, 0x07};
  std::uint32_t cp = static_cast<unsigned char>(s[0]) & lead_mask[s.size() - 1];
  for (std::size_t i = 1; i < s.size(); ++i)
    cp = cp << 6 | (static_cast<unsigned char>(s[i]) & 0x3F);
  return cp;
}

// Checks what Vocab promises about its symbols; `what` starts every message.
void validate_symbols(TokenMode mode, const std::vector<std::string>& symbols,
                      const std::string& what) {
  if (symbols.empty())
    fail(what + ": no symbols: a vocabulary needs at least one symbol besides PAD, BOS and EOS");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const std::string& symbol = symbols[i];
    const std::string where = what + ": symbol at id " + std::to_string(i + 3);
    if (symbol.empty()) fail(where + " is empty");
    check_utf8(symbol, where.c_str());
    const std::string shown = where + " (" + describe_symbol(symbol) + ")";
    const std::size_t code_points = split_code_points(symbol).size();
    if (mode == TokenMode::characters && code_points != 1)
      fail(shown + " is " + std::to_string(code_points) +
           " code points; a characters vocabulary holds one code point per symbol");
    if (mode == TokenMode::words && split_words(symbol).size() != 1)
      fail(shown + " contains whitespace; a words vocabulary splits on it");
    if (!seen.insert(symbol).second) fail(shown + " is a duplicate");
  }
}

std::string escape_line(const std::string& symbol) {
  std::string out;
  for (char c : symbol) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out;
}

std::string unescape_line(const std::string& line, const std::string& where) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\') {
      out += line[i];
      continue;
    }
    if (i + 1 == line.size()) fail(where + ": a lone '\\' at the end of the line");
    const char next = line[++i];
    if (next == '\\')
      out += '\\';
    else if (next == 'n')
      out += '\n';
    else if (next == 'r')
      out += '\r';
    else
      fail(where + ": unknown escape '\\" + std::string(1, next) + "' (known: \\\\ \\n \\r)");
  }
  return out;
}

}  // namespace

std::string to_string(TokenMode mode) { return mode == TokenMode::words ? "words" : "characters"; }

TokenMode parse_token_mode(const std::string& name) {
  if (name == "characters") return TokenMode::characters;
  if (name == "words") return TokenMode::words;
  fail("token mode: unknown mode '" + name + "' (known: characters, words)");
}

std::size_t find_malformed_utf8(const std::string& text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = sequence_length(text, at);
    if (length == 0) return at;
    at += length;
  }
  return std::string::npos;
}

std::vector<std::string> split_code_points(const std::string& text, const char* what) {
  check_utf8(text, what);
  std::vector<std::string> tokens;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = sequence_length(text, at);
    tokens.push_back(text.substr(at, length));
    at += length;
  }
  return tokens;
}

std::vector<std::string> split_words(const std::string& text, const char* what) {
  check_utf8(text, what);
  std::vector<std::string> tokens;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && is_ascii_space(text[at])) ++at;
    std::size_t end = at;
    while (end < text.size() && !is_ascii_space(text[end])) ++end;
    if (end > at) tokens.push_back(text.substr(at, end - at));
    at = end;
  }
  return tokens;
}

std::string describe_symbol(const std::string& symbol) {
  if (symbol.empty() || find_malformed_utf8(symbol) != std::string::npos ||
      sequence_length(symbol, 0) != symbol.size())
    return "'" + symbol + "'";  // a word, or not one valid code point: show it as it is
  const std::uint32_t cp = code_point(symbol);
  char hex[16];
  std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
  if (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0)) return hex;  // invisible: spaces, controls
  if (cp < 0x80) return "'" + symbol + "'";
  return "'" + symbol + "' (" + hex + ")";
}

Vocab::Vocab(TokenMode mode, std::vector<std::string> symbols)
    : mode_(mode), symbols_(std::move(symbols)) {
  validate_symbols(mode_, symbols_, "Vocab");
  for (std::size_t i = 0; i < symbols_.size(); ++i) ids_[symbols_[i]] = std::int64_t(i) + 3;
}

Vocab Vocab::from_texts(const std::vector<std::string>& texts, TokenMode mode) {
  std::set<std::string> distinct;  // byte order, which for UTF-8 is code point order
  for (const std::string& text : texts) {
    const auto tokens = mode == TokenMode::words ? split_words(text) : split_code_points(text);
    distinct.insert(tokens.begin(), tokens.end());
  }
  return Vocab(mode, std::vector<std::string>(distinct.begin(), distinct.end()));
}

std::string Vocab::serialize() const {
  std::string out = kHeader + to_string(mode_);
  for (const std::string& symbol : symbols_) out += "\n" + escape_line(symbol);
  return out;
}

Vocab Vocab::deserialize(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  const std::string what = "Vocab::deserialize";
  const std::string header = kHeader;
  if (lines[0].compare(0, header.size(), header) != 0)
    fail(what + ": line 1 is not '" + header + "characters' or '" + header +
         "words': this is not a serialised vocabulary");
  const std::string mode_name = lines[0].substr(header.size());
  if (mode_name != "characters" && mode_name != "words")
    fail(what + ": line 1: unknown token mode '" + mode_name + "' (known: characters, words)");
  std::vector<std::string> symbols;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string where = what + ": line " + std::to_string(i + 1);
    if (lines[i].empty()) fail(where + " is empty; every line after the first holds one symbol");
    symbols.push_back(unescape_line(lines[i], where));
  }
  validate_symbols(parse_token_mode(mode_name), symbols, what);
  return Vocab(parse_token_mode(mode_name), std::move(symbols));
}

std::vector<std::string> Vocab::tokenize(const std::string& text) const {
  return mode_ == TokenMode::words ? split_words(text) : split_code_points(text);
}

std::vector<std::int64_t> Vocab::encode(const std::string& text) const {
  const std::vector<std::string> tokens = tokenize(text);
  std::vector<std::int64_t> ids;
  ids.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto found = ids_.find(tokens[i]);
    if (found == ids_.end()) fail_unknown(tokens[i], i + 1);
    ids.push_back(found->second);
  }
  return ids;
}

std::string Vocab::decode(const std::vector<std::int64_t>& ids) const {
  std::string text;
  bool first = true;
  for (const std::int64_t id : ids) {
    if (id == EOS) break;
    if (id == PAD || id == BOS) continue;
    const std::string token = symbol(id);  // checks the range
    if (mode_ == TokenMode::words && !first) text += ' ';
    text += token;
    first = false;
  }
  return text;
}

std::int64_t Vocab::id_of(const std::string& symbol) const {
  const auto found = ids_.find(symbol);
  if (found == ids_.end()) fail_unknown(symbol, 0);
  return found->second;
}

std::string Vocab::symbol(std::int64_t id) const {
  if (id < 0 || id >= std::int64_t(size()))
    fail("vocab: id " + std::to_string(id) + " is out of range: this vocabulary has ids 0.." +
         std::to_string(size() - 1) + " (PAD=0, BOS=1, EOS=2, symbols from 3)");
  if (id == PAD) return "<pad>";
  if (id == BOS) return "<bos>";
  if (id == EOS) return "<eos>";
  return symbols_[std::size_t(id - 3)];
}

void Vocab::fail_unknown(const std::string& symbol, std::size_t position) const {
  std::string known;
  const std::size_t shown = std::min<std::size_t>(symbols_.size(), 40);
  for (std::size_t i = 0; i < shown; ++i) known += (i ? " " : "") + describe_symbol(symbols_[i]);
  if (shown < symbols_.size())
    known += " ... and " + std::to_string(symbols_.size() - shown) + " more";
  const std::string where =
      position ? " (token " + std::to_string(position) + " of the input)" : std::string();
  fail("vocab: unknown symbol " + describe_symbol(symbol) + where + "; the " + to_string(mode_) +
       " vocabulary knows " + std::to_string(symbols_.size()) + " symbols: " + known +
       ". To fix: use only these symbols, or build the vocabulary from data that contains this"
       " one (train on it again)");
}

}  // namespace crossgrad
