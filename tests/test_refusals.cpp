// Tests for docs/refusals.md: every row of its table is a command, a part of the one line it
// must print on stderr, and its exit status. Each row runs in a folder holding the files the
// page names (a finished run, a model without its state, a NaN model, junk, a bad TSV file),
// with build/train and build/predict from this repository, so the page cannot drift from
// what the programs do.
#include "examples/training/checkpoint.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

struct Row {
  std::string command, message;
  int status = -1;
};

// The table's cells between backticks; "\|" inside a command is a shell pipe.
std::string cell_text(std::string cell) {
  const std::size_t first = cell.find('`'), last = cell.rfind('`');
  if (first != std::string::npos && last > first) cell = cell.substr(first + 1, last - first - 1);
  for (std::size_t at = cell.find("\\|"); at != std::string::npos; at = cell.find("\\|", at))
    cell.replace(at, 2, "|");
  const std::size_t begin = cell.find_first_not_of(' '), end = cell.find_last_not_of(' ');
  return begin == std::string::npos ? "" : cell.substr(begin, end - begin + 1);
}

// The rows after the marker line, up to the first line that is not a table row.
std::vector<Row> read_table(const std::string& page) {
  std::vector<Row> rows;
  const std::vector<std::string> lines = lines_of(page);
  std::size_t i = 0;
  while (i < lines.size() && lines[i].rfind("<!-- refusals:", 0) != 0) ++i;
  for (i += 3; i < lines.size() && lines[i].rfind("| ", 0) == 0; ++i) {  // after header, rule
    std::vector<std::string> cells;
    std::string cell;
    const std::string& line = lines[i];
    for (std::size_t k = 1; k < line.size(); ++k) {
      if (line[k] == '|' && line[k - 1] != '\\') {
        cells.push_back(cell);
        cell.clear();
      } else {
        cell += line[k];
      }
    }
    REQUIRE_MESSAGE(cells.size() == 3, "a row of docs/refusals.md needs 3 cells: " << line);
    rows.push_back({cell_text(cells[0]), cell_text(cells[1]), std::stoi(cell_text(cells[2]))});
  }
  return rows;
}

// build/train and build/predict at the start of a command or after a pipe, made absolute.
std::string with_programs(std::string command) {
  const std::string build = fs::absolute("build").string();
  for (const char* program : {"build/train", "build/predict"})
    for (std::size_t at = command.find(program); at != std::string::npos;
         at = command.find(program, at + build.size()))
      if (at == 0 || command[at - 1] == ' ') command.replace(at, 5, build);
  return command;
}

}  // namespace

TEST_CASE("refusals: every row of docs/refusals.md prints its message and exits as it says") {
  const std::vector<Row> rows = read_table(read_file("docs/refusals.md"));
  REQUIRE(rows.size() >= 20);
  TempDir dir, io;
  // The files the page names: a finished run, its model alone, the model with a NaN, junk.
  const Run trained =
      run_program("build/train",
                  "--d-model 16 --heads 2 --ff 32 --layers 1 --batch 8 --max-len 4 --steps 8 "
                  "--eval-size 20 --quiet --save " + quote(dir.file("run.safetensors")),
                  io.path);
  REQUIRE_MESSAGE(trained.status == 0, trained.err);
  fs::copy_file(dir.file("run.safetensors"), dir.file("model-only.safetensors"));
  SafetensorsFile model = load_safetensors(dir.file("run.safetensors"));
  REQUIRE(model.tensors[0].first == "src_embed.weight");
  Tensor& weight = model.tensors[0].second;
  weight = Tensor::from(weight.values(), weight.shape());
  weight.mutable_data()[0] = real(NAN);
  save_safetensors(dir.file("nan.safetensors"), model.tensors, model.metadata);
  dir.write("junk.safetensors", "not a checkpoint");
  dir.write("bad.tsv", "12\t21\n34 43\n");

  for (const Row& row : rows) {
    CAPTURE(row.command);
    const std::string command = "cd " + quote(dir.path.string()) + " && (" +
                                with_programs(row.command) + ") < /dev/null > " +
                                quote(io.file("stdout")) + " 2> " + quote(io.file("stderr"));
    const int raw = std::system(command.c_str());
    const int status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    const std::string err = read_file(io.file("stderr"));
    INFO("stderr: " << err);
    CHECK(status == row.status);
    CHECK(err.find(row.message) != std::string::npos);
    std::size_t error_lines = 0;  // one error line (warnings may come beside it)
    for (const std::string& line : lines_of(err))
      error_lines += line.find(": error: ") != std::string::npos;
    CHECK(error_lines == 1);
  }
}
