# crossgrad — build, test and run.
#   make            library and example programs (float32, -O3 -march=native)
#   make run        train the default reversal model and show what it learned
#   make test       every doctest suite, in float32 and in float64 (gradient checks)
#   make sanitize   the float64 suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      speed of the kernels and of a training step
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
# No -ffast-math: it breaks NaN checks and bit-for-bit reproducibility.
FLAGS = -std=c++17 $(OPTFLAGS) $(CXXFLAGS_ARCH) $(WARNINGS) -I. -pthread $(CXXFLAGS)
SANITIZE_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
DOUBLE := -DCROSSGRAD_DOUBLE
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

.PHONY: all run test sanitize bench clean doctest
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
$(eval $(call variant,f64,$(DOUBLE)))
$(eval $(call variant,asan,$(DOUBLE) $(SANITIZE_FLAGS)))

build/%: examples/%.cpp $(APP_OBJ) build/f32/libcrossgrad.a
	@mkdir -p build
	$(CXX) $(FLAGS) -MMD -MP -MF build/$*.d $(filter %.cpp %.o %.a,$^) -o $@

# doctest is the one dependency outside the standard library: found, installed, or explained.
doctest:
	@CXX="$(CXX)" sh tests/ensure_doctest.sh

test: build/f32/run_tests build/f64/run_tests $(EXAMPLES)
	@echo "== layers point down: the #include lines of autograd/, nn/ and data/ =="
	sh tests/check_layers.sh
	@echo "== float32 suites (training, forward values, errors) =="
	build/f32/run_tests
	@echo "== float64 suites (gradient checks at PyTorch's tolerances) =="
	build/f64/run_tests
	@echo "== code blocks in README.md and docs/ =="
	@sh tests/check_doc_examples.sh "$(CXX)" "$(FLAGS)" build/f32/libcrossgrad.a build/doc_examples

sanitize: build/asan/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 build/asan/run_tests

# The standard reversal model until 99% exact match on 1,000 held-out sequences (4,000 steps
# at most), then the cross-attention of one input: the anti-diagonal of reading backwards.
run: all
	build/train --task reverse --target-acc 0.99 --eval-every 100 --save runs/reverse.safetensors
	build/predict --checkpoint runs/reverse.safetensors --show-attention 31415926535897

bench: all
	build/bench

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
