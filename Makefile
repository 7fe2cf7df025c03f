# zeropoint build. `make` builds bin/harness; `make test` runs the unit tests in a
# release build and again under ASan + UBSan; `make help` lists every target.
# Objects live in build/$(MODE)/ so release, sanitizer and fuzz objects never mix.

MODE    ?= release
BUILD   ?= build/$(MODE)
PREFIX  ?= /usr/local
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CC      ?= cc
CXX     ?= c++
ifeq ($(origin CC),default)
CC      := gcc
endif
ifeq ($(origin CXX),default)
CXX     := g++
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter $(if $(findstring clang,$(CC)),,-Wno-format-truncation)
OPT_release := -O2 -g
OPT_asan    := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT_fuzz    := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
               -Wno-pass-failed
OPT     := $(OPT_$(MODE))
DEFS    := -D_GNU_SOURCE -DZP_VERSION='"$(VERSION)"' -DZP_GIT_REV='"$(GIT_REV)"'
CPPFLAGS_NODEP := -I. -I$(BUILD)/gen $(DEFS)
CPPFLAGS_ALL := $(CPPFLAGS_NODEP) -MMD -MP
CFLAGS_ALL   := -std=c11 $(WARN) $(OPT) -fopenmp -fPIC $(CFLAGS)
CXXFLAGS_ALL := -std=c++17 -Wall -Wextra -Werror $(OPT) -fopenmp -fPIC $(CXXFLAGS)
LDLIBS_ALL   := -lcjson -lcsv -lprotobuf-c -lpng -ljpeg -lz -lopenblas -ldnnl -lbenchmark \
                -lpthread -ldl -lm $(LDLIBS)
LDFLAGS_ALL  := $(OPT) -fopenmp -rdynamic $(LDFLAGS)

include mk/isa.mk

# Every .c file under these folders is part of the library; harness/main.c is the
# program. Adding a file needs no Makefile edit.
LIB_DIRS := common stats schemes calib ptq model data kernels kernels/* train config store experiment plots harness
LIB_SRCS := $(filter-out harness/main.c,$(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))))
LIB_CXX  := $(wildcard bench/*.cc)
GEN_SRCS := $(BUILD)/gen/onnx.pb-c.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cc=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
LIB      := $(BUILD)/libzp.a
HARNESS  := $(BUILD)/bin/harness
# bin/harness is the release build's binary, the one the README runs.
BIN_LINK := $(if $(filter build/release,$(BUILD)),bin/harness)

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_UTIL := $(BUILD)/tests/util.o $(BUILD)/tests/train_checks.o $(BUILD)/tests/data_files.o \
             $(BUILD)/tests/onnx_builder.o $(BUILD)/tests/scheme_fixtures.o \
             $(BUILD)/tests/calib_fixtures.o $(BUILD)/tests/plot_fixtures.o
PLUGIN_SRCS := $(wildcard plugins/*.c)
PLUGINS     := $(PLUGIN_SRCS:plugins/%.c=$(BUILD)/plugins/%.so)
FUZZ_SRCS   := $(wildcard fuzz/fuzz_*.c)

.PHONY: all deps npm-deps test test-release asan unit fuzz install clean help run bench check-headers check-layers
all: deps
	@$(MAKE) --no-print-directory build-all

.PHONY: build-all
build-all: $(HARNESS) $(PLUGINS) $(BIN_LINK)

bin/harness: $(HARNESS)
	@mkdir -p bin
	ln -sf ../$(HARNESS) bin/harness

help:
	@echo "make            build bin/harness (installs missing Debian packages first)"
	@echo "make run        the main job: harness run configs/mobilenet.json"
	@echo "make test       unit tests (release build), the same under ASan + UBSan, emulated-ISA kernel tests"
	@echo "make asan       unit tests under ASan + UBSan only"
	@echo "make test-emulated  kernel tests with the AVX-512 variants run on SIMDe (build/emul)"
	@echo "make fuzz       bounded libFuzzer runs of every parser (FUZZ_SECONDS=60 each)"
	@echo "make bench      kernel benchmark: harness bench configs/bench_mobilenet.json"
	@echo "make check-layers  includes point down the layers (scripts/check_layers.sh)"
	@echo "make install    install bin/harness and plugins under PREFIX ($(PREFIX))"
	@echo "make deps       install missing Debian packages (needs root)"

deps:
	@sh scripts/install-deps.sh

# ONNX Runtime (npm onnxruntime-node) for the tests that run our ONNX exports in
# it (tests/test_export_qdq.c); one copy in build/release/npm serves every build
# mode. Offline or without node the install fails and those tests skip.
npm-deps:
	@BUILD=build/release sh scripts/install-npm.sh || \
	 echo "install-npm failed: the ONNX Runtime tests will skip"

$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h: /usr/include/onnx/onnx.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I/usr/include/onnx $<

# The generated parser is third-party-style code: compile it without -Werror extras.
$(BUILD)/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	$(CC) -std=c11 $(OPT) -fPIC -I$(BUILD)/gen -c $< -o $@

$(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/harness/main.o $(TEST_BINS:%=%.o) $(TEST_UTIL): | $(BUILD)/gen/onnx.pb-c.h

# plots/style.gp is the one copy of the figure style: it is compiled into the
# harness as a C string literal (each line quoted, \ and " escaped), so the
# binary needs no installed data file and the text can never drift from the file.
$(BUILD)/gen/style_gp.inc: plots/style.gp
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp && mv $@.tmp $@
$(BUILD)/plots/plot_style.o: $(BUILD)/gen/style_gp.inc

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(call isa_flags,$<) -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(HARNESS): $(BUILD)/harness/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BUILD)/plugins/%.so: plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -shared $< -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_UTIL) $(LIB)
	$(CXX) $(LDFLAGS_ALL) $^ -o $@ -lcmocka $(LDLIBS_ALL)

# Unit tests of one build mode; tests/run.sh prints the "N passed, N failed" line.
unit: deps npm-deps
	@$(MAKE) --no-print-directory unit-run

.PHONY: unit-run
# The malformed-input catalogue (tests/malformed/) runs after the unit tests: every
# case in the release build, every 4th under the sanitizers (the whole of it takes
# ~12 min there). Each case counts as one test; only failures are printed.
MALFORMED_EVERY_release := 1
MALFORMED_EVERY_asan    := 4
unit-run: $(TEST_BINS) $(PLUGINS) $(HARNESS)
	@rm -f $(BUILD)/malformed-counts; \
	 ZP_BUILD=$(BUILD) ZP_HARNESS=$(HARNESS) sh tests/run.sh $(TEST_BINS); rc=$$?; \
	 ZP_BUILD=$(BUILD) ZP_MALFORMED_EVERY=$(or $(MALFORMED_EVERY_$(MODE)),1) \
	   sh tests/malformed/run.sh $(HARNESS) | grep -v '^PASS '; \
	 [ -f $(BUILD)/malformed-counts ] || echo "0 1 0" > $(BUILD)/malformed-counts; \
	 read mp mf ms < $(BUILD)/malformed-counts; [ "$$mf" = 0 ] || rc=1; exit $$rc

# The layering rule (scripts/check_layers.sh holds the table of layers).
check-layers:
	@sh scripts/check_layers.sh && echo "check-layers: ok"

# All builds run even when one fails (release, ASan + UBSan, then the emulated-ISA
# kernel tests); the last line sums them up (a layering violation counts as one
# failure).
test: deps
	@rm -f build/release/test-counts build/asan/test-counts build/layers-count \
	       build/release/malformed-counts build/asan/malformed-counts build/emul/test-counts
	@mkdir -p build; if sh scripts/check_layers.sh; then echo "check-layers: ok"; \
	 echo "1 0 0" > build/layers-count; else echo "0 1 0" > build/layers-count; fi
	@$(MAKE) --no-print-directory MODE=release BUILD=build/release unit; \
	 $(MAKE) --no-print-directory MODE=asan BUILD=build/asan unit; \
	 $(MAKE) --no-print-directory MODE=release BUILD=build/emul ZP_EMULATE_ISA=1 emul-run; \
	 cat build/layers-count build/release/test-counts build/asan/test-counts \
	     build/release/malformed-counts build/asan/malformed-counts build/emul/test-counts 2>/dev/null | \
	 awk '{p+=$$1; f+=$$2; s+=$$3; n++} END {if (n < 6) f++; \
	      printf "%d passed, %d failed, %d skipped\n", p, f, s; exit f > 0}'

asan: deps
	@$(MAKE) --no-print-directory MODE=asan BUILD=build/asan unit

# The AVX-512 kernels on a CPU without AVX-512: a separate build (build/emul) whose
# *-avx512*.c files run on SIMDe (mk/isa.mk, kernels/emulate_isa.h), then the
# kernel tests in it, each variant against its reference. `make test` runs it last
# (about 2 CPU-minutes of build, 10 s of tests); this target runs it alone.
EMUL_TESTS := test_kernels test_kernels_blocked test_kernels_runtime test_ops_conv test_int_kernels
test-emulated: deps
	@$(MAKE) --no-print-directory MODE=release BUILD=build/emul ZP_EMULATE_ISA=1 emul-run

.PHONY: test-emulated emul-run
# No emulated object may hold a zmm or mask-register instruction (one would mean an
# intrinsic reached the real instructions and would fault on this CPU).
emul-run: $(EMUL_TESTS:%=$(BUILD)/tests/%) $(HARNESS)
	@bad=$$(for o in $(filter %-avx512.o %-avx512vnni.o %-avx512vpopcnt.o %-avx512bf16.o,$(LIB_OBJS)); do 	   objdump -d $$o | grep -qE '%zmm|%k[0-7]' && echo $$o; done); 	 [ -z "$$bad" ] || { echo "test-emulated: native AVX-512 instructions in:$$bad"; 	   echo "0 passed, 1 failed"; exit 1; }
	@ZP_BUILD=$(BUILD) ZP_HARNESS=$(HARNESS) sh tests/run.sh $(EMUL_TESTS:%=$(BUILD)/tests/%)

run: all
	bin/harness run configs/mobilenet.json

bench: all
	bin/harness bench configs/bench_mobilenet.json

# Fuzzing: clang + libFuzzer, bounded time per target, corpus under fuzz/corpus/.
FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory MODE=fuzz CC=clang CXX=clang++ fuzz-run

fuzz-run: $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
	@for f in $^; do n=$$(basename $$f); mkdir -p fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $$f -artifact_prefix=$(BUILD)/fuzz/ -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
	      -print_final_stats=0 fuzz/corpus/$$n $$( [ -d fuzz/seeds/$$n ] && echo fuzz/seeds/$$n ) \
	      2>$(BUILD)/fuzz/$$n.log || { tail -50 $(BUILD)/fuzz/$$n.log; exit 1; }; done; \
	  echo "fuzz: no crash"

$(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(LIB)
	$(CXX) -fsanitize=fuzzer,address,undefined -fopenmp $^ -o $@ $(LDLIBS_ALL)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/zeropoint/plugins $(DESTDIR)$(PREFIX)/share/zeropoint
	install -m 755 $(HARNESS) $(DESTDIR)$(PREFIX)/bin/harness
	install -m 644 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/zeropoint/plugins/
	cp -r configs plots $(DESTDIR)$(PREFIX)/share/zeropoint/

# Every header compiles on its own (an ISA header, foo-avx512.h, with its suffix's flags).
HEADERS := $(shell find common stats schemes calib model data kernels train config store experiment plots harness bench -name '*.h' | sort)
check-headers:
	@$(foreach h,$(HEADERS),echo '#include "$(h)"' | $(CC) $(CPPFLAGS_NODEP) -std=c11 $(WARN) $(call isa_flags,$(h:.h=.c)) -fsyntax-only -x c - || exit 1;)
	@echo "check-headers: $(words $(HEADERS)) headers ok"

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
