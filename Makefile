# auger: hand-written Makefile. `make`, `make test`, `make run`, `make SAN=1`.
VERSION	:= 0.1.0
CC	?= cc
PKGS	:= libgit2 libevent libevent_pthreads libevent_openssl libssh jansson yaml-0.1 lmdb zlib libssl libcrypto
OPT	?= -O2
CFLAGS	+= -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	   -Iinclude -DAG_VERSION='"$(VERSION)"' -pthread
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -llmdb

ifeq ($(SAN),1)
BUILD	:= build/san
BIN	:= build/san/bin
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
OPT	:= -O1
else
BUILD	:= build/rel
BIN	:= bin
endif

LIB_SRC	:= $(wildcard src/*.c)
HOOK_SRC := $(wildcard hooks/*.c)
DAEMON_SRC := $(filter-out daemon/cli.c,$(wildcard daemon/*.c))
CLI_SRC	:= daemon/cli.c
LIB_OBJ	:= $(LIB_SRC:%.c=$(BUILD)/%.o) $(HOOK_SRC:%.c=$(BUILD)/%.o)
UI_ASSETS := $(wildcard daemon/ui/*)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/ui_assets.o
CLI_OBJ	:= $(CLI_SRC:%.c=$(BUILD)/%.o)
LIBA	:= $(if $(filter 1,$(SAN)),$(BUILD)/libauger.a,libauger.a)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%-replay)

.PHONY: all deps test test-unit test-san test-integration test-interop test-fuzz \
	fuzz run bench soak clean

all: deps-check $(BIN)/augerd $(BIN)/auger $(LIBA)

deps-check:
	@pkg-config --exists $(PKGS) && [ -f /usr/include/lmdb.h ] && [ -f /usr/include/cmocka.h ] \
		|| sh scripts/deps.sh

deps:
	sh scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# The dashboard's CSS and JS, compiled into augerd.
$(BUILD)/gen/ui_assets.c: $(UI_ASSETS) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(UI_ASSETS)

$(BUILD)/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c daemon/ui_assets.h
	$(CC) $(CFLAGS) -Idaemon -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/augerd: $(DAEMON_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_OBJ) $(LIBA) $(PKG_LIBS)

$(BIN)/auger: $(CLI_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(PKG_LIBS) -lcmocka
# test_session builds daemon/session.c in, with a clock of its own.
$(BUILD)/tests/test_session: daemon/session.c daemon/session.h daemon/auth.h

# Fuzz targets build twice: with libFuzzer (make fuzz) and with a replay
# driver that runs the checked-in corpus as a normal test (make test).
$(BUILD)/fuzz/%-replay: tests/fuzz/%.c tests/fuzz/replay.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBA) $(PKG_LIBS)

build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(HOOK_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRC) $(HOOK_SRC) $(PKG_LIBS)

test-unit: all $(UNIT_BIN) $(FUZZ_REPLAY)
	sh tests/run-unit.sh $(BUILD)

test-san:
	$(MAKE) SAN=1 test-unit

test-integration: all
	bash tests/integration/run.sh

test-interop: all
	bash tests/interop/build.sh

test: all
	$(MAKE) test-unit
	$(MAKE) test-san
	$(MAKE) test-integration

fuzz: $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
	@for f in $^; do echo "fuzzing $$f for $${FUZZ_SECONDS:-60}s"; \
		mkdir -p tests/fuzz/corpus/$$(basename $$f); \
		$$f -max_total_time=$${FUZZ_SECONDS:-60} tests/fuzz/corpus/$$(basename $$f) || exit 1; done

run: all
	sh scripts/demo.sh

bench: all
	sh scripts/deps.sh --bench
	bash scripts/bench/http.sh
	bash scripts/bench/ssh.sh
	bash scripts/bench/release.sh
	bash scripts/bench/clone.sh
	bash scripts/bench/fleet.sh

# Crash and load soak (minutes; not part of make test): scripts/soak/soak.sh.
soak: all
	bash scripts/soak/soak.sh

clean:
	rm -rf build bin libauger.a

-include $(shell find build/rel build/san -name '*.d' -type f 2>/dev/null)
