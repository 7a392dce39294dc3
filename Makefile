# llamaterm build. `make` builds ./llamaterm; `make test` runs every test and
# ends with one line "N passed, N failed"; `make sanitize` does the same under
# AddressSanitizer + UBSan in build/san; `make tsan` runs the tests of the
# worker thread under ThreadSanitizer in build/tsan; `make fuzz` runs the
# parser fuzzers; `make arm-test` cross-builds the engine for AArch64 and runs
# its kernel tests and a greedy decode under qemu-user.
#
# Knobs: OPENMP=0 builds without libgomp, WERROR=1 turns warnings into
# errors, SANITIZE=1 builds into build/san with ASan + UBSan, TSAN=1 builds
# into build/tsan with ThreadSanitizer (and always without OpenMP).

CC ?= cc
OPENMP ?= 1
SANITIZE ?= 0
TSAN ?= 0
WERROR ?= 0
PREFIX ?= /usr/local
SHARED ?= $(abspath ../shared)
FUZZ_SECONDS ?= 60

VERSION := 0.1.0

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
else ifeq ($(TSAN),1)
# No OpenMP under TSan: libgomp is not built with -fsanitize=thread, so TSan
# cannot see the synchronisation of its barriers and thread pool and reports
# every parallel loop of the engine as a data race (false positives).
override OPENMP := 0
BUILD ?= build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT := -O1
else
BUILD ?= build/rel
SANFLAGS :=
OPT := -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags ncursesw libpcre2-8 jansson libmicrohttpd libcurl 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs ncursesw libpcre2-8 jansson libmicrohttpd libcurl 2>/dev/null || echo -lncursesw -lpcre2-8 -ljansson -lmicrohttpd -lcurl)

CFLAGS_ALL := -std=gnu11 $(OPT) -g -Wall -Wextra -Wshadow -Wno-unused-parameter \
	-D_GNU_SOURCE -DLLAMATERM_VERSION='"$(VERSION)"' -DLLAMATERM_PREFIX='"$(PREFIX)"' \
	$(PKG_CFLAGS) $(SANFLAGS) -MMD -MP $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lreadline -lpthread -lm
ifeq ($(WERROR),1)
CFLAGS_ALL += -Werror
endif
ifeq ($(OPENMP),1)
CFLAGS_ALL += -fopenmp
LDLIBS_ALL += -fopenmp
endif
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)
# AArch64 compilers fuse a * b + c into one multiply-add by default (x86-64
# has no baseline FMA). The scalar reference must round every step as on
# x86, so that the NEON q8 quantizers can match it byte for byte and the
# goldens hold on both; the SIMD kernels fuse where they say so.
ifneq ($(filter aarch64%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
CFLAGS_ALL += -ffp-contract=off
endif

# The layers: ui/ -> src/ -> engine/, and src/cmd/ (main and the
# subcommands) above both. Each folder is compiled with only the include
# paths it may use, so an include against the arrows fails the build;
# tests/cli/layers.sh checks what the -I paths cannot see (a quoted include
# is looked up next to the including file first, so "cmd/cli.h" or
# "../ui/tui.h" from src/ would still compile). tests/ see every folder.
INC_ENGINE := -Iengine
INC_CORE := -Iengine -Isrc
INC_UI := -Iengine -Isrc -Iui
INC_CMD := -Iengine -Isrc -Iui -Isrc/cmd
layer_inc = $(if $(filter src/cmd/%,$1),$(INC_CMD),$(if $(filter src/%,$1),$(INC_CORE),$(if \
	$(filter ui/%,$1),$(INC_UI),$(if $(filter engine/%,$1),$(INC_ENGINE),$(INC_CMD)))))

CMD_SRC := $(wildcard src/cmd/*.c)
LIB_SRC := $(wildcard engine/*.c) $(wildcard src/*.c) $(wildcard ui/*.c) \
	$(filter-out src/cmd/main.c,$(CMD_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libllamaterm.a
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SYNTH_SRC := $(wildcard tests/synth/*.c)
SYNTH_BIN := $(if $(SYNTH_SRC),$(BUILD)/lt-synth)
BIN := $(BUILD)/llamaterm

.SECONDARY:

# Override BUILD=build/NAME to keep separate object trees side by side.
.PHONY: all test sanitize tsan tsan-test fuzz bench clean install man arm-test
all: $(BIN)
ifeq ($(BUILD),build/rel)
all: llamaterm
llamaterm: $(BIN)
	cp $(BIN) $@
endif

$(BIN): $(BUILD)/src/cmd/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Objects depend on a stamp holding the compiler flags, rewritten only when
# they change, so SANITIZE=1 or OPENMP=0 on an existing tree rebuilds it.
FLAGS_STAMP := $(BUILD)/.cflags
ifneq ($(shell cat $(FLAGS_STAMP) 2>/dev/null),$(strip $(CC) $(CFLAGS_ALL) $(LDLIBS_ALL)))
$(shell mkdir -p $(BUILD))
$(file >$(FLAGS_STAMP),$(strip $(CC) $(CFLAGS_ALL) $(LDLIBS_ALL)))
endif

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call layer_inc,$<) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka $(LDLIBS_ALL)

$(BUILD)/lt-synth: $(SYNTH_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

test: $(BIN) $(TEST_BIN) $(SYNTH_BIN)
	@LLAMATERM=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) LLAMATERM_SHARED=$(SHARED) \
		bash tests/run.sh

sanitize:
	$(MAKE) SANITIZE=1 BUILD=build/san test

# ThreadSanitizer over the tests that run the worker thread beside its
# consumer: the ring and worker unit tests, the line-mode chat through a
# pipe and the tmux-driven chat and TUI tests, and the engine's own threads
# (test_ops_threads). Any report fails its test
# (tests/run.sh reads them from SAN_LOG_DIR); halt_on_error stops the
# program at the first one.
TSAN_UNIT := test_ring test_worker test_ops_threads
TSAN_TESTS := $(TSAN_UNIT) cli/chat.sh cli/archs_chat.sh cli/reasoning.sh cli/sessions.sh cli/remote.sh e2e/*.sh
tsan:
	$(MAKE) TSAN=1 BUILD=build/tsan tsan-test
tsan-test: $(BIN) $(TSAN_UNIT:%=$(BUILD)/tests/%) $(SYNTH_BIN)
	@LLAMATERM=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) LLAMATERM_SHARED=$(SHARED) \
		TESTS_ONLY='$(TSAN_TESTS)' SAN_LOG_DIR=$(abspath $(BUILD))/san-reports \
		TSAN_OPTIONS='halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$(abspath $(BUILD))/san-reports/tsan' \
		bash tests/run.sh

# Coverage-guided fuzzing of every parser with libFuzzer (clang). The engine
# and src objects are compiled once into an archive, so each fuzzer links
# only the objects it uses and UB aborts like a crash.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_LIB_SRC := $(wildcard engine/*.c) $(wildcard src/*.c)
FUZZ_OBJ := $(FUZZ_LIB_SRC:%.c=build/fuzz/obj/%.o)
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: parsers skip checksum
# comparisons (session.c), so mutations reach the record parsers behind them.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $(PKG_CFLAGS) \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(call layer_inc,$<) -MMD -MP -c -o $@ $<
build/fuzz/libfuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libfuzz.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(INC_CORE) -fsanitize=fuzzer -o $@ $< build/fuzz/libfuzz.a $(PKG_LIBS) -lm -lpthread
fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) LLAMATERM_SHARED=$(SHARED) bash tests/fuzz/run.sh $(FUZZ_BIN)

# The ARM kernels (engine/quant_arm.c), cross-compiled for AArch64 and run
# under qemu-user: the kernel tests and an engine-only greedy decode of the
# stories model, once on a CPU with the dot product instructions and once
# on one without (tests/arm/run.sh). Needs gcc-aarch64-linux-gnu, qemu-user
# and the arm64 builds of cmocka and pcre2 (multiarch: libcmocka-dev:arm64
# libpcre2-dev:arm64). Only the engine is built: the UI's libraries are not
# needed. Plain Armv8-A is the baseline; only the dot product kernels carry
# a target attribute, so a core without them runs the binary too.
ARM_CC ?= aarch64-linux-gnu-gcc
ifneq ($(filter arm-test,$(MAKECMDGOALS)),)
ifeq ($(shell command -v $(ARM_CC) 2>/dev/null),)
$(error make arm-test needs $(ARM_CC), qemu-user and the arm64 cmocka and pcre2 (README, Dependencies))
endif
endif
ARM_BUILD := build/arm
ARM_CFLAGS := -std=gnu11 -O2 -g -march=armv8-a -ffp-contract=off -Wall -Wextra -Wshadow \
	-Wno-unused-parameter -D_GNU_SOURCE -MMD -MP $(if $(filter 1,$(WERROR)),-Werror)
ARM_LIBS := -lpcre2-8 -lpthread -lm
ARM_ENGINE_OBJ := $(patsubst %.c,$(ARM_BUILD)/%.o,$(wildcard engine/*.c))
ARM_TESTS := test_simd test_ops_simd
ARM_BIN := $(ARM_TESTS:%=$(ARM_BUILD)/tests/%) $(ARM_BUILD)/greedy
$(ARM_BUILD)/engine/%.o: engine/%.c
	@mkdir -p $(dir $@)
	$(ARM_CC) $(ARM_CFLAGS) $(INC_ENGINE) -c -o $@ $<
$(ARM_BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(ARM_CC) $(ARM_CFLAGS) $(INC_ENGINE) -c -o $@ $<
$(ARM_BUILD)/libengine.a: $(ARM_ENGINE_OBJ)
	@rm -f $@
	aarch64-linux-gnu-ar rcs $@ $^
$(ARM_BUILD)/tests/test_%: $(ARM_BUILD)/tests/unit/test_%.o $(ARM_BUILD)/libengine.a
	$(ARM_CC) -o $@ $^ -lcmocka $(ARM_LIBS)
$(ARM_BUILD)/greedy: $(ARM_BUILD)/tests/arm/greedy.o $(ARM_BUILD)/libengine.a
	$(ARM_CC) -o $@ $^ $(ARM_LIBS)
arm-test: $(ARM_BIN)
	@ARM_BUILD=$(abspath $(ARM_BUILD)) LLAMATERM_SHARED=$(SHARED) bash tests/arm/run.sh

# Memory-bandwidth probe for the percent-of-limit column of `make bench`.
$(BUILD)/bwprobe: tests/bench/bwprobe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) $(filter -fopenmp,$(LDLIBS_ALL))

bench: $(BIN) $(SYNTH_BIN) $(BUILD)/bwprobe
	@LLAMATERM=$(abspath $(BIN)) SYNTH=$(abspath $(SYNTH_BIN)) BWPROBE=$(abspath $(BUILD)/bwprobe) \
		LLAMATERM_SHARED=$(SHARED) bash tests/bench.sh

# Regenerates the man page sections that come from the program's tables.
man: $(BIN)
	bash tests/gen_man.sh $(BIN) man/llamaterm.1

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/llamaterm/prompts \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/llamaterm
	install -m 644 prompts/*.tmpl $(DESTDIR)$(PREFIX)/share/llamaterm/prompts/
	install -m 644 man/llamaterm.1 $(DESTDIR)$(PREFIX)/share/man/man1/llamaterm.1

clean:
	rm -rf build llamaterm

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/cmd/main.d $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) \
	$(SYNTH_SRC:%.c=$(BUILD)/%.d)
-include $(FUZZ_OBJ:.o=.d)
-include $(ARM_ENGINE_OBJ:.o=.d) $(ARM_BUILD)/tests/unit/test_simd.d \
	$(ARM_BUILD)/tests/unit/test_ops_simd.d $(ARM_BUILD)/tests/arm/greedy.d
