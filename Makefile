# crossgrad — build, test and run.
#   make            library and example programs (float32, -O3 -march=native)
#   make run        train the default reversal model and show what it learned
#   make demo       a small reversal model in seconds, and its attention map
#   make test       every doctest suite, in float32 and in float64 (gradient checks)
#   make sanitize   the float64 suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      speed of the kernels and of a training step
#   make fuzz       build the libFuzzer targets with clang and run each for FUZZ_SECONDS (15)
#   make program SRC=my.cpp [DOUBLE=1]   your own program against the library (see README)
#   make pictures   every picture in docs/pictures, made again by the numbered programs
#   make solutions  build and run the solutions of the tutorials' exercises
#   make clean
# Override flags on the command line, e.g. `make CXXFLAGS_ARCH=` for a portable build.

CXX ?= g++
# GCC 12 with AVX-512 enabled miscompiles some constant vectors on this kind of machine
# (std::vector<double>{1, 1, 0, 0} came out as 1 1 1 1 at -O2 -march=native), so AVX-512 is
# switched off wherever the compiler knows the flag; AVX2 + FMA code is still generated.
NO_AVX512 := $(shell echo 'int main(){}' | $(CXX) -mno-avx512f -x c++ - -o /dev/null 2>/dev/null && echo -mno-avx512f)
CXXFLAGS_ARCH ?= -march=native $(NO_AVX512)
OPTFLAGS ?= -O3
WARNINGS := -Wall -Wextra -Werror
# No -ffast-math: it breaks NaN checks and bit-for-bit reproducibility. Only -fno-math-errno:
# nothing reads errno after a math function, and with it GCC vectorises loops that call
# std::sqrt (Adam's update ran 7x faster); sqrt's results are the same either way.
MATH := -fno-math-errno
FLAGS = -std=c++17 $(OPTFLAGS) $(CXXFLAGS_ARCH) $(MATH) $(WARNINGS) -I. -pthread $(CXXFLAGS)
SANITIZE_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
DOUBLE_FLAGS := -DCROSSGRAD_DOUBLE
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += -j$(JOBS)

# The library: the autograd core, the model and its files, the data. Nothing above them.
LIB_SRC := $(wildcard autograd/*.cpp nn/*.cpp nn/io/*.cpp data/*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)
EXAMPLES := $(patsubst examples/%.cpp,build/%,$(wildcard examples/*.cpp))
# The application above the library, linked into the programs and the tests but not part of
# the library: the training loop and checkpoints with their vocabulary (examples/training/),
# and the programs' command-line helpers (examples/common/: flags, progress, plots).
APP_SRC := $(wildcard examples/training/*.cpp examples/common/*.cpp)
APP_OBJ := $(APP_SRC:%.cpp=build/f32/%.o)

# The tutorials (docs/README.md): solutions of the exercises, built in float64 so the
# gradient checks in them mean something; the programs whose output a page shows (a line
# "<!-- output of build/NAME -->"), float64 ones included; the programs that draw pictures.
SOLUTIONS := $(patsubst examples/solutions/%.cpp,build/f64/solutions/%,$(wildcard examples/solutions/*.cpp))
DOC_PROGRAMS := $(sort $(shell sed -n 's/^<!-- output of \(build\/[^ ]*\).*/\1/p' README.md docs/*.md))
PICTURE_PROGRAMS := $(patsubst examples/%.cpp,build/%,$(shell grep -l '"examples/common/pictures.h"' examples/[0-9]*.cpp))

.PHONY: all run demo test sanitize bench clean doctest program pictures solutions fuzz fuzz-targets
all: build/f32/libcrossgrad.a $(EXAMPLES)

# One set of rules per build variant: $(1) is the folder under build/, $(2) extra flags.
define variant
build/$(1)/%.o: %.cpp Makefile
	@mkdir -p $$(dir $$@)
	$$(CXX) $$(FLAGS) $(2) -MMD -MP -c $$< -o $$@
build/$(1)/libcrossgrad.a: $$(LIB_SRC:%.cpp=build/$(1)/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/run_tests: $$(TEST_SRC:%.cpp=build/$(1)/%.o) $$(APP_SRC:%.cpp=build/$(1)/%.o) build/$(1)/libcrossgrad.a
	$$(CXX) $$(FLAGS) $(2) $$^ -o $$@
$$(TEST_SRC:%.cpp=build/$(1)/%.o): | doctest
# One suite on its own, e.g. `make build/f64/test_ops_nn && build/f64/test_ops_nn`.
build/$(1)/test_%: build/$(1)/tests/main.o build/$(1)/tests/test_%.o $$(APP_SRC:%.cpp=build/$(1)/%.o) build/$(1)/libcrossgrad.a
	$$(CXX) $$(FLAGS) $(2) $$^ -o $$@
endef
$(eval $(call variant,f32,))
$(eval $(call variant,f64,$(DOUBLE_FLAGS)))
$(eval $(call variant,asan,$(DOUBLE_FLAGS) $(SANITIZE_FLAGS)))

build/%: examples/%.cpp $(APP_OBJ) build/f32/libcrossgrad.a
	@mkdir -p build
	$(CXX) $(FLAGS) -MMD -MP -MF build/$*.d $(filter %.cpp %.o %.a,$^) -o $@

# The float64 twin of a program or a solution: build/f64/03_custom_op, build/f64/solutions/X.
build/f64/%: examples/%.cpp $(APP_SRC:%.cpp=build/f64/%.o) build/f64/libcrossgrad.a
	@mkdir -p $(dir $@)
	$(CXX) $(FLAGS) $(DOUBLE_FLAGS) -MMD -MP -MF $@.d $(filter %.cpp %.o %.a,$^) -o $@

# Your own program against the library, in one command:
#   make program SRC=my.cpp            -> build/my      (float32, like build/train)
#   make program SRC=my.cpp DOUBLE=1   -> build/f64/my  (float64, for gradient checks)
# It may include the library's headers and examples/common/'s (check.h, plot.h, ...).
ifneq ($(filter program,$(MAKECMDGOALS)),)
  $(if $(SRC),,$(error usage: make program SRC=my.cpp [DOUBLE=1]))
  $(if $(wildcard $(SRC)),,$(error make program: no file '$(SRC)'))
endif
PROGRAM_VARIANT := $(if $(filter-out 0,$(DOUBLE)),f64,f32)
PROGRAM_OUT := build/$(if $(filter f64,$(PROGRAM_VARIANT)),f64/)$(basename $(notdir $(SRC)))
program: $(APP_SRC:%.cpp=build/$(PROGRAM_VARIANT)/%.o) build/$(PROGRAM_VARIANT)/libcrossgrad.a
	@mkdir -p $(dir $(PROGRAM_OUT))
	$(CXX) $(FLAGS) $(if $(filter f64,$(PROGRAM_VARIANT)),$(DOUBLE_FLAGS)) $(SRC) $^ -o $(PROGRAM_OUT)
	@echo "built $(PROGRAM_OUT)"

pictures: $(PICTURE_PROGRAMS)
	@for program in $(PICTURE_PROGRAMS); do \
	  echo "$$program --pictures docs/pictures"; $$program --pictures docs/pictures > /dev/null || exit 1; \
	done

solutions: $(SOLUTIONS)
	@sh tests/run_solutions.sh $(SOLUTIONS)

# doctest is the one dependency outside the standard library: found, installed, or explained.
doctest:
	@CXX="$(CXX)" sh tests/ensure_doctest.sh

test: build/f32/run_tests build/f64/run_tests $(EXAMPLES) $(SOLUTIONS) $(DOC_PROGRAMS) $(PICTURE_PROGRAMS)
	@echo "== layers point down: the #include lines of autograd/, nn/ and data/ =="
	sh tests/check_layers.sh
	@echo "== float32 suites (training, forward values, errors) =="
	build/f32/run_tests
	@echo "== float64 suites (gradient checks at PyTorch's tolerances) =="
	build/f64/run_tests
	@echo "== code blocks, program outputs, pictures and links in README.md and docs/ =="
	@sh tests/check_doc_examples.sh "$(CXX)" "$(FLAGS)" build/f32/libcrossgrad.a build/doc_examples
	@echo "== solutions of the exercises =="
	@sh tests/run_solutions.sh $(SOLUTIONS)
	@echo "== PyTorch loads the committed checkpoints (optional: skipped without torch) =="
	@sh tests/check_pytorch.sh build/pytorch_check
	@echo "== make program, float32 and float64 =="
	@MAKEFLAGS= $(MAKE) --no-print-directory program SRC=tests/tools/which_real.cpp > /dev/null
	@MAKEFLAGS= $(MAKE) --no-print-directory program SRC=tests/tools/which_real.cpp DOUBLE=1 > /dev/null
	@test "$$(build/which_real)" = "real is float" && test "$$(build/f64/which_real)" = "real is double" \
	  && echo "make program built build/which_real (float) and build/f64/which_real (double)"

sanitize: build/asan/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 build/asan/run_tests

# The standard reversal model until 99% exact match on 1,000 held-out sequences (4,000 steps
# at most), then the cross-attention of one input: the anti-diagonal of reading backwards.
run: all
	build/train --task reverse --target-acc 0.99 --eval-every 100 --save runs/reverse.safetensors
	build/predict --checkpoint runs/reverse.safetensors --show-attention 31415926535897

# A quick look in a few seconds: a small model (d_model 32, 2 heads, 44,141 parameters) reverses
# 1 to 8 digits after 1,500 steps (about 97% exact match), and its cross-attention.
demo: build/train build/predict
	build/train --task reverse --max-len 8 --d-model 32 --heads 2 --ff 64 --steps 1500 \
	  --eval-every 500 --target-acc 0.99 --save runs/demo.safetensors
	build/predict --checkpoint runs/demo.safetensors --show-attention 31415926

bench: all
	build/bench

# --- Fuzzing: a libFuzzer target for every parser of user files and text (tests/fuzz/) ---
# The library and the application are compiled again with clang into build/fuzz/, under
# AddressSanitizer and UndefinedBehaviorSanitizer, float32 like the programs.
# `make fuzz FUZZ_SECONDS=600` is a long run; findings are saved in build/fuzz/findings/.
FUZZ_CXX ?= clang++
FUZZ_SECONDS ?= 15
FUZZ_FLAGS = -std=c++17 -O1 -g -fno-omit-frame-pointer $(CXXFLAGS_ARCH) $(WARNINGS) -I. -pthread \
  -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cpp,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_APP_SRC := $(wildcard examples/training/*.cpp) examples/common/flags.cpp \
  examples/common/train_flags.cpp examples/common/predict_input.cpp examples/common/steering.cpp
FUZZ_OBJ := $(LIB_SRC:%.cpp=build/fuzz/%.o) $(FUZZ_APP_SRC:%.cpp=build/fuzz/%.o)

build/fuzz/%.o: %.cpp Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp tests/fuzz/fuzzing.h $(FUZZ_OBJ)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d $(filter %.cpp %.o,$^) -o $@
fuzz-targets: $(FUZZ_TARGETS)

fuzz:
	@command -v $(FUZZ_CXX) > /dev/null 2>&1 || { echo "make fuzz: no $(FUZZ_CXX): fuzzing needs clang with libFuzzer (Debian: apt-get install clang)"; exit 1; }
	@$(MAKE) --no-print-directory fuzz-targets
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
