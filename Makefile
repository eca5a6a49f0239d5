# berth — build, run and test. `make run` and `make test` are the whole set-up (see README).

VERSION   := 0.1.0
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILDTIME := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

CC      ?= gcc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CFLAGS  := -std=gnu17 -Wall -Wextra -Werror $(OPT) -g -I. -D_GNU_SOURCE $(SAN) -MMD -MP \
           -DBERTH_VERSION='"$(VERSION)"' -DBERTH_COMMIT='"$(COMMIT)"' \
           -DBERTH_BUILD_TIME='"$(BUILDTIME)"'
LDFLAGS := $(SAN)
LIBS    := -lcap -lseccomp -luring -lev -ljansson -lhttp_parser -lnettle -larchive -lisal -lzstd \
           -lmbedtls -lmbedx509 -lmbedcrypto -lnftnl -lmnl -lpthread

# Everything but the mains goes into one static library the binaries and tests link.
LIB_SRC := $(wildcard core/*.c fs/*.c net/*.c net/*/*.c exec/*.c cgroup/*.c) \
           $(filter-out handlers/berthd.c,$(wildcard handlers/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB     := $(BUILD)/libberth.a

UNIT_SRC  := $(wildcard tests/core/test_*.c tests/handlers/test_*.c tests/fs/test_*.c \
                         tests/net/test_*.c tests/net/*/test_*.c tests/exec/test_*.c tests/cgroup/test_*.c)
UNIT_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

BINS := $(BUILD)/berthd $(BUILD)/berth $(BUILD)/nft-list $(BUILD)/bench/api-load $(BUILD)/bench/api-floor \
        $(BUILD)/bench/netlink-plumb \
        $(BUILD)/bench/stats-client

.PHONY: all deps run stop test unit integration asan fuzz bench format format-check clean

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/berthd: $(BUILD)/obj/handlers/berthd.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/berth: $(BUILD)/obj/tools/berth.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/nft-list: $(BUILD)/obj/tools/nft-list.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/api-load: $(BUILD)/obj/bench/api/load.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/netlink-plumb: $(BUILD)/obj/bench/netlink/plumb.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/api-floor: $(BUILD)/obj/bench/api/floor.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/bench/stats-client: $(BUILD)/obj/bench/stats/client.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

deps:
	@tools/install-deps

# Installs what is missing, builds, starts berthd on /run/berth/berth.sock and asks it
# through the docker CLI.
run: deps
	@$(MAKE) --no-print-directory all
	@tools/run-dev

stop:
	@tools/run-dev --stop

unit: $(UNIT_BINS)

ASAN_FLAGS := BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"

test: deps
	@$(MAKE) --no-print-directory all unit format-check-quiet
	@$(MAKE) --no-print-directory $(ASAN_FLAGS) all unit
	@BUILD=$(BUILD) ASAN_BUILD=build-asan tests/run

asan:
	@$(MAKE) --no-print-directory $(ASAN_FLAGS) all unit
	@BUILD=build-asan tests/run --unit-only

fuzz:
	@tools/install-deps --fuzz
	@tests/fuzz/run

bench: deps
	@tools/install-deps --bench
	@$(MAKE) --no-print-directory all
	@bench/run

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: ok"

# In `make test`, formatting drift is reported but does not fail the build.
format-check-quiet:
	@command -v clang-format >/dev/null 2>&1 && \
	  { clang-format --dry-run --Werror $(FORMAT_SRC) 2>/dev/null || \
	    echo "format: drift found (run make format)"; } || true

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
