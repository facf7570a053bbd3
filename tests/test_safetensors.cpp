// Tests for nn/io/safetensors.cpp and nn/io/atomic_file.cpp: bit-exact round trips, a file
// assembled byte by byte from the spec, one test per kind of corruption (each error names the
// file), atomic writes that leave the old file intact and no temporary files, load_into, and an
// optimizer resume through a file.
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "nn/optim.h"
#include "nn/io/atomic_file.h"
#include "nn/io/safetensors.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;
namespace fs = std::filesystem;

namespace {

// A file from header text and data bytes: little-endian length, header, data.
std::string assemble(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((std::uint64_t(header.size()) >> (8 * i)) & 0xFF);
  return out + header + data;
}

NamedTensors sample_tensors() {
  return {{"encoder.weight", testing::random_input({3, 4}, 1)},
          {"encoder.bias", testing::random_input({4}, 2)},
          {"scale", Tensor::scalar(real(0.1))},  // shape (): no dimensions, one value
          {"empty", Tensor::zeros({0, 3})}};     // no bytes, but a name and a shape
}

}  // namespace

TEST_CASE("safetensors: save then load round-trips names, order, shapes and bits") {
  TempDir dir;
  const NamedTensors tensors = sample_tensors();
  const std::map<std::string, std::string> metadata = {{"d_model", "64"},
                                                       {"vocab", "<pad> \"é\"\n"}};
  for (const Dtype dtype : {kRealDtype, Dtype::F64}) {
    CAPTURE(static_cast<int>(dtype));
    save_safetensors(dir.file("model.safetensors"), tensors, metadata, dtype);
    const SafetensorsFile loaded = load_safetensors(dir.file("model.safetensors"));
    CHECK(loaded.metadata == metadata);
    REQUIRE(loaded.tensors.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      CHECK(loaded.tensors[i].first == tensors[i].first);
      CHECK(same_bits(loaded.tensors[i].second, tensors[i].second));
    }
    CHECK(loaded.find("scale")->item() == real(0.1));
    CHECK(loaded.find("missing") == nullptr);
    CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});  // no temp files
  }
}

TEST_CASE("safetensors: F32 in the float64 build rounds to float, as PyTorch's .float() would") {
  const NamedTensors tensors = {{"x", Tensor::from({real(0.1), real(1) / 3}, {2})}};
  const SafetensorsFile loaded = parse_safetensors(serialize_safetensors(tensors, {}, Dtype::F32));
  CHECK(loaded.tensors[0].second.values()[0] == real(0.1f));
  CHECK(loaded.tensors[0].second.values()[1] == real(1.0f / 3.0f));
}

TEST_CASE(
    "safetensors: a file assembled byte by byte from the spec reads, and we write it identically") {
  // Header: 85 bytes of JSON plus 3 spaces of padding = 88 = 0x58, a multiple of 8.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  REQUIRE(json.size() == 85);
  std::string file("\x58\x00\x00\x00\x00\x00\x00\x00", 8);  // N = 88, little-endian u64
  file += json + "   ";
  file += std::string("\x00\x00\x80\x3f", 4);  //  1.0f = 0x3F800000, least significant byte first
  file += std::string("\x00\x00\x00\xc0", 4);  // -2.0f = 0xC0000000
  const SafetensorsFile loaded = parse_safetensors(file);
  CHECK(loaded.metadata.at("format") == "pt");
  REQUIRE(loaded.tensors.size() == 1);
  CHECK(loaded.tensors[0].first == "w");
  CHECK(loaded.tensors[0].second.shape() == Shape{2});
  testing::check_values(loaded.tensors[0].second, {1, -2});
  const NamedTensors w = {{"w", Tensor::from({1, -2}, {2})}};
  CHECK(serialize_safetensors(w, {{"format", "pt"}}) == file);
  // Without metadata the header is 54 bytes, padded to 56; "__metadata__" is omitted.
  const std::string plain = serialize_safetensors(w);
  CHECK(plain.substr(0, 8) == std::string("\x38\x00\x00\x00\x00\x00\x00\x00", 8));
  CHECK(plain.substr(8, 56) == R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  )");
}

TEST_CASE("safetensors: F64 files read, and F64 data is little-endian IEEE double") {
  // 0.5 = 0x3FE0000000000000
  const std::string data("\x00\x00\x00\x00\x00\x00\xe0\x3f", 8);
  const SafetensorsFile loaded =
      parse_safetensors(assemble(R"({"h":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})", data));
  CHECK(loaded.tensors[0].second.shape() == Shape{});
  CHECK(loaded.tensors[0].second.item() == real(0.5));
}

// Each corrupt file is written to disk and loaded, so the error must name the file.
TEST_CASE("safetensors: every kind of corruption is a clear error naming the file") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const auto refuses = [&](const std::string& bytes, const std::string& message) {
    CAPTURE(message);
    write_file(path, bytes);
    CHECK_THROWS_WITH_AS(
        load_safetensors(path),
        doctest::Contains(("load_safetensors: '" + path + "': " + message).c_str()), Error);
  };
  const std::string a8 = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\x01'), twelve(12, '\x01');
  const std::string good = serialize_safetensors({{"w", Tensor::from({1, 2, 3}, {3})}});

  SUBCASE("file shorter than 8 bytes") {
    refuses(std::string("\x05\x00\x00", 3),
            "file is 3 bytes, shorter than the 8-byte header length");
  }
  SUBCASE("truncated data") {
    refuses(good.substr(0, good.size() - 4),
            "tensor 'w': data_offsets [0, 12] are out of bounds: the data region has 8 bytes");
  }
  SUBCASE("header length larger than the file") {
    std::string bad = good;
    bad[1] = 0x10;  // 4096 + the real length
    refuses(bad, "header length 4152 is larger than the 68 bytes after it");
  }
  SUBCASE("header length absurd") {
    refuses(std::string(8, '\xff') + "{}",
            "header length 18446744073709551615 is absurd (the limit is 100000000 bytes)");
  }
  SUBCASE("invalid JSON") {
    refuses(assemble(R"({"a":{"dtype":"F32",)", ""),
            "invalid JSON header (offsets count from file byte 8): json: at byte 20");
  }
  SUBCASE("header not an object") {
    refuses(assemble("[1, 2]", ""), "the header must be a JSON object starting with '{'");
  }
  SUBCASE("duplicate names") {
    refuses(assemble("{" + a8 + "," + a8 + "}", eight),
            "invalid JSON header (offsets count from file byte 8): json: at byte 54: duplicate key "
            "\"a\"");
  }
  SUBCASE("unknown and unsupported dtypes") {
    refuses(assemble(R"({"a":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}})", eight),
            "tensor 'a': unknown dtype 'F99'");
    refuses(assemble(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", eight),
            "tensor 'a': dtype F16 is not supported (crossgrad reads F32 and F64)");
  }
  SUBCASE("shape inconsistent with the offsets") {
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
            "tensor 'a': shape (3) of F32 needs 12 bytes, but data_offsets [0, 8] span 8");
  }
  SUBCASE("offsets out of bounds or reversed") {
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", eight),
            "tensor 'a': data_offsets [8, 16] are out of bounds: the data region has 8 bytes");
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight),
            "tensor 'a': data_offsets [8, 0] end before they begin");
  }
  SUBCASE("overlapping tensors") {
    refuses(
        assemble("{" + a8 + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", twelve),
        "tensors 'a' and 'b' overlap in the data region");
  }
  SUBCASE("a gap between tensors") {
    refuses(assemble("{" + a8 + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                     twelve + "1234"),
            "bytes [8, 12) of the data region belong to no tensor (a gap)");
  }
  SUBCASE("trailing bytes no tensor covers") {
    refuses(assemble("{" + a8 + "}", twelve),
            "bytes [8, 12) of the data region belong to no tensor (trailing data)");
  }
  SUBCASE("metadata values that are not strings") {
    refuses(assemble(R"({"__metadata__":{"epoch":3}})", ""),
            "__metadata__ value for 'epoch' is a JSON integer; safetensors metadata values must be "
            "strings");
    refuses(assemble(R"({"__metadata__":[]})", ""), "__metadata__ must be an object, got array");
  }
  SUBCASE("shapes whose size overflows") {
    refuses(
        assemble(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                 eight),
        "tensor 'a': shape is too large to allocate (its byte count overflows)");
  }
  SUBCASE("malformed tensor entries") {
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
            "tensor 'a': each shape entry must be a non-negative integer, got -2");
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight),
            "tensor 'a': each shape entry must be a non-negative integer, got number");
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[2]}})", eight),
            "tensor 'a': needs dtype, shape and data_offsets");
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight),
            "tensor 'a': unexpected field 'x'");
    refuses(assemble(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", eight),
            "tensor 'a': data_offsets must be an array [begin, end]");
    refuses(assemble(R"({"a":[]})", ""), "tensor 'a': expected an object, got array");
  }
}

TEST_CASE("safetensors: a missing file or a directory is a clear error") {
  CHECK_THROWS_WITH_AS(
      load_safetensors("/nonexistent/model.safetensors"),
      doctest::Contains("load_safetensors: cannot open '/nonexistent/model.safetensors'"), Error);
  TempDir dir;
  CHECK_THROWS_WITH_AS(load_safetensors(dir.path.string()),
                       doctest::Contains("is a directory, not a safetensors file"), Error);
}

TEST_CASE("safetensors: F64 values beyond float32 are refused by the float32 build" *
          doctest::skip(kDoublePrecision)) {
  const std::string huge("\x00\x00\x00\x00\x00\x00\xf0\x7e", 8);  // 2^1008, about 2.74e303
  CHECK_THROWS_WITH_AS(
      parse_safetensors(assemble(R"({"h":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", huge),
                        "h.st"),
      doctest::Contains("load_safetensors: 'h.st': tensor 'h' element 0 = 2.74"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(assemble(R"({"h":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", huge),
                        "h.st"),
      doctest::Contains("does not fit in float32"), Error);
}

TEST_CASE("save_safetensors: bad names fail before anything touches the disk") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const Tensor x = Tensor::zeros({2});
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", x}, {"a", x}}),
                       doctest::Contains("duplicate tensor name 'a'"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"", x}}), doctest::Contains("empty name"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"__metadata__", x}}), doctest::Contains("reserved"),
                       Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"u", Tensor()}}),
                       doctest::Contains("tensor 'u' is undefined"), Error);
  CHECK_THROWS_WITH_AS(
      save_safetensors(path, {{"x", x}}, {{"bad", "\xff"}}),
      doctest::Contains(
          "cannot write the header: json: cannot write a string that is not valid UTF-8"),
      Error);
  CHECK(dir.listing().empty());
}

TEST_CASE("save_safetensors: a failed write leaves the old file intact and no temporary file") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const NamedTensors old_tensors = {{"w", Tensor::from({1, 2}, {2})}};
  save_safetensors(path, old_tensors);
  const std::string old_bytes = read_file(path);
  const NamedTensors big = {{"w", Tensor::ones({100000})}};  // 400 kB

  SUBCASE("the disk fills up mid-way (a 4 kB file-size limit stands in for a full disk)") {
    rlimit previous{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &previous) == 0);
    rlimit limited = previous;
    limited.rlim_cur = 4096;
    const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // make write() fail with EFBIG
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
    std::string error;
    try {
      save_safetensors(path, big);
    } catch (const Error& e) {
      error = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &previous);
    std::signal(SIGXFSZ, previous_handler);
    CHECK(error.find("save_safetensors: cannot write '" + path + ".tmp-") != std::string::npos);
    CHECK(error.find("File too large") != std::string::npos);
  }
  if (kDoublePrecision) {  // in the float32 build every value fits F32
    SUBCASE("a value fails validation after part of the data is written") {
      Tensor bad = Tensor::ones({100000});
      bad.set({99999}, real(1e300));  // too large for F32: found when the last element is converted
      CHECK_THROWS_WITH_AS(
          save_safetensors(path, {{"first", Tensor::ones({1000})}, {"w", bad}}),
          doctest::Contains("tensor 'w' element 99999 = 1e+300 does not fit in float32"), Error);
    }
  }
  SUBCASE("the rename fails (the target path is a directory)") {
    fs::create_directories(dir.path / "taken" / "inside");
    const std::string taken = dir.file("taken");
    CHECK_THROWS_WITH_AS(save_safetensors(taken, big),
                         doctest::Contains(("save_safetensors: cannot rename '" + taken).c_str()),
                         Error);
    CHECK(fs::is_directory(taken));
    fs::remove_all(taken);
  }
  SUBCASE("the directory does not exist") {
    CHECK_THROWS_WITH_AS(save_safetensors(dir.file("no/such/dir/model.safetensors"), big),
                         doctest::Contains("cannot create the temporary file"), Error);
  }
  CHECK(read_file(path) == old_bytes);
  CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});
  const SafetensorsFile still = load_safetensors(path);
  CHECK(same_bits(still.tensors[0].second, old_tensors[0].second));
}

TEST_CASE("load_into: copies by name, and lists missing, unexpected and mismatched names") {
  Tensor weight = Tensor::zeros({13, 64}, true);
  Tensor bias = Tensor::zeros({13}, true);
  const NamedTensors parameters = {{"generator.weight", weight}, {"generator.bias", bias}};
  const Tensor w = testing::random_input({13, 64}, 3), b = testing::random_input({13}, 4);

  SUBCASE("everything matches: values are copied into the existing tensors") {
    const LoadReport report =
        load_into(parameters, {{"generator.bias", b}, {"generator.weight", w}});
    CHECK(report.missing.empty());
    CHECK(report.unexpected.empty());
    CHECK(same_bits(weight, w));
    CHECK(same_bits(bias, b));
    CHECK(weight.requires_grad());
  }
  SUBCASE("strict: every problem in one error, and nothing is copied") {
    const NamedTensors loaded = {{"generator.weight", testing::random_input({13, 32}, 5)},
                                 {"extra.bias", b}};
    CHECK_THROWS_WITH_AS(
        load_into(parameters, loaded),
        doctest::Contains(
            "load_into: missing from the checkpoint: generator.bias; unexpected in the "
            "checkpoint: extra.bias; generator.weight: checkpoint has shape (13,32), "
            "model expects (13,64)"),
        Error);
    CHECK(weight.values() == std::vector<real>(13 * 64, 0));
  }
  SUBCASE("not strict: missing and unexpected names are reported, shapes still must match") {
    const LoadReport report =
        load_into(parameters, {{"generator.weight", w}, {"extra.bias", b}}, false);
    CHECK(report.missing == std::vector<std::string>{"generator.bias"});
    CHECK(report.unexpected == std::vector<std::string>{"extra.bias"});
    CHECK(same_bits(weight, w));
    CHECK_THROWS_WITH_AS(
        load_into(parameters, {{"generator.bias", w}}, false),
        doctest::Contains("generator.bias: checkpoint has shape (13,64), model expects (13)"),
        Error);
  }
}

TEST_CASE("optimizer state survives a safetensors file: the resumed run is bit-identical") {
  TempDir dir;
  const auto gradient_step = [](optim::Adam& opt, const Tensor& x) {
    opt.zero_grad();
    (pow(x, 4) * real(0.25) - x * x).sum().backward();
    opt.step();
  };
  const optim::AdamOptions options{0.01, 0.9, 0.98, 1e-9};
  Tensor straight = testing::random_input({5}, 11);
  optim::Adam uninterrupted({straight}, options);
  for (int i = 0; i < 6; ++i) gradient_step(uninterrupted, straight);

  Tensor x = testing::random_input({5}, 11);
  optim::Adam before({x}, options);
  for (int i = 0; i < 3; ++i) gradient_step(before, x);
  save_safetensors(dir.file("model.safetensors"), {{"x", x}}, {}, kRealDtype);
  save_safetensors(dir.file("optimizer.safetensors"), before.state_dict(), {{"kind", "Adam"}},
                   kRealDtype);

  Tensor resumed = Tensor::zeros({5}, true);
  load_into({{"x", resumed}}, load_safetensors(dir.file("model.safetensors")).tensors);
  optim::Adam after({resumed}, options);
  after.load_state_dict(load_safetensors(dir.file("optimizer.safetensors")).tensors);
  for (int i = 0; i < 3; ++i) gradient_step(after, resumed);
  CHECK(same_bits(straight, resumed));
}

TEST_CASE("atomic_file: write_file_atomically replaces a file whole, leaving nothing on failure") {
  TempDir dir;
  const std::string path = dir.file("out.csv");
  nn::write_file_atomically(path, "old\n");
  nn::write_file_atomically(path, "step,loss\n1,2.5\n");
  CHECK(read_file(path) == "step,loss\n1,2.5\n");
  CHECK(dir.listing() == std::vector<std::string>{"out.csv"});
  CHECK_THROWS_WITH_AS(nn::write_file_atomically(dir.file("no/such/dir/x.csv"), "x"),
                       doctest::Contains("write_file_atomically: cannot create"), Error);
  CHECK(dir.listing() == std::vector<std::string>{"out.csv"});
}

TEST_CASE("atomic_file: write_files_atomically renames nothing unless every file was written") {
  TempDir dir;
  const std::string model = dir.file("run.safetensors"), state = dir.file("run.state");
  nn::write_files_atomically({{state, "state 1"}, {model, "model 1"}});
  CHECK(read_file(state) == "state 1");
  CHECK(read_file(model) == "model 1");
  nn::write_files_atomically({{state, "state 2"}, {model, "model 2"}});
  CHECK(read_file(state) == "state 2");
  CHECK(read_file(model) == "model 2");
  // The third file cannot be created: the first two stay as they were, and no temporary file
  // is left (a model and a state from different saves would not resume).
  CHECK_THROWS_WITH_AS(
      nn::write_files_atomically(
          {{state, "state 3"}, {model, "model 3"}, {dir.file("no/such/dir/run.csv"), "csv"}},
          "Trainer::save"),
      doctest::Contains("Trainer::save: cannot create the temporary file"), Error);
  CHECK(read_file(state) == "state 2");
  CHECK(read_file(model) == "model 2");
  CHECK(dir.listing() == std::vector<std::string>{"run.safetensors", "run.state"});
}
