# jobring - plain Makefile. See README.md.
#
#   make            libjobring.a, libjobring.so, jobring.pc (build/release)
#   make test       unit and integration tests (debug build, assertions on)
#   make test-asan  the same under ASan+UBSan;  make test-tsan  under TSan
#   make bench      benchmarks with baselines measured in the same run
#   make bench-workers  external workers at 4,000 and 10,000 (bench/workers.c)
#   make bench-remote-workers  1,000 jobring-worker processes (bench/remote_workers.sh)
#   make bench-dashboard  the web dashboard, 1,000,000 jobs, headless Chromium
#   make demo       installs what is missing, builds, runs the demo
#   make install PREFIX=/usr/local DESTDIR=
#   make deps       apt-get the Debian packages that are missing
#   make deb        build/jobring_VERSION_ARCH.deb (tools/deb/)
#   make fuzz       every libFuzzer harness of tests/fuzz/, FUZZ_SECONDS each

# The first rule below is a generated file's; plain `make` builds all.
.DEFAULT_GOAL := all

# The version is written once, in jobring.h (JR_VERSION_MAJOR, _MINOR,
# _PATCH); jobring.pc and the soname take it from there, the programs'
# --version from jr_version(). `make version` prints it.
JR_VERSION := $(shell awk '$$2 == "JR_VERSION_MAJOR" { a = $$3 } $$2 == "JR_VERSION_MINOR" { b = $$3 } \
	$$2 == "JR_VERSION_PATCH" { c = $$3 } END { print a "." b "." c }' include/jobring.h)
JR_VERSION_MAJOR := $(firstword $(subst ., ,$(JR_VERSION)))
SONAME := libjobring.so.$(JR_VERSION_MAJOR)

PREFIX ?= /usr/local
DESTDIR ?=
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
CC ?= gcc
BUILD ?= build/release
MODE ?= release

DEB_PACKAGES := build-essential liburing-dev libck-dev libjemalloc-dev \
	libhwloc-dev libcmocka-dev pkg-config libhttp-parser-dev libcjson-dev \
	curl libjansson-dev libsystemd-dev parallel jq \
	libcurl4-openssl-dev libssl-dev libmunge-dev
# The observability tests (issue 16): a real browser, its driver and
# Selenium for the dashboard, promtool (Debian's prometheus) for the
# metrics and alert rules.
DEB_PACKAGES += chromium chromium-driver python3-selenium prometheus
# Allocations from Slurm (issue 17): tests/test_slurm.sh starts a private
# Slurm (slurmctld, slurmd, the client commands) and munge.
DEB_PACKAGES += slurmctld slurmd slurm-client munge
# make fuzz: clang 14 and its runtimes (libclang_rt.fuzzer, asan, ubsan).
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev

WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 -g -fPIC -D_GNU_SOURCE -Iinclude -Isrc $(WARN)
LIBS := -lhwloc -lhttp_parser -luring -lpthread -lm

ifeq ($(MODE),release)
MODE_CFLAGS := -O2
LIBS += -ljemalloc
else ifeq ($(MODE),debug)
MODE_CFLAGS := -O2 -DJR_DEBUG=1
LIBS += -ljemalloc
else ifeq ($(MODE),asan)
MODE_CFLAGS := -O1 -DJR_DEBUG=1 -DJR_NO_JEMALLOC -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
MODE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(MODE),tsan)
MODE_CFLAGS := -O1 -DJR_DEBUG=1 -DJR_NO_JEMALLOC -fsanitize=thread -Wno-tsan
MODE_LDFLAGS := -fsanitize=thread
else ifeq ($(MODE),fuzz)
# make fuzz: clang, every object instrumented for libFuzzer's coverage
# (fuzzer-no-link: the harnesses add libFuzzer's main), ASan and UBSan.
MODE_CFLAGS := -O1 -DJR_DEBUG=1 -DJR_NO_JEMALLOC -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-Wno-unknown-attributes
MODE_LDFLAGS := -fsanitize=fuzzer-no-link,address,undefined
endif

CFLAGS_ALL := $(BASE_CFLAGS) $(MODE_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(MODE_LDFLAGS) $(LDFLAGS)

# The library's layers, lowest first (docs/ARCHITECTURE.md); the journal
# and the simulator are not in libjobring: only their users link them.
LIB_LAYERS := base shm sched exec coord engine client
LIB_SRCS := $(foreach d,$(LIB_LAYERS),$(wildcard src/$(d)/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
JOURNAL_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/journal/*.c))
SIM_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/sim/*.c))
# Cron expressions and time zones (issue 15): internal, for the daemon.
CRON_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cron/*.c))
ALL_HDRS := $(shell find src -name '*.h') include/jobring.h
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%) $(BUILD)/tests/readme_example
TEST_SCRIPTS := tests/test_layers.sh tests/test_cli.sh tests/test_daemon.sh tests/test_durable.sh \
	tests/test_keeper.sh tests/test_fallback.sh tests/test_snapshot.sh tests/test_systemd.sh \
	tests/test_version.sh tests/test_owners.sh tests/test_output.sh tests/test_paths.sh \
	tests/test_input.sh tests/test_progress.sh tests/test_queues.sh tests/test_deps.sh tests/test_arrays.sh tests/test_control.sh tests/test_cli_control.sh tests/fuzz/regress.sh tools/demo.sh
TEST_SCRIPTS += tests/test_history.sh
TEST_SCRIPTS += tests/test_listing.sh tests/test_resources_api.sh tests/test_bighost.sh
TEST_SCRIPTS += tests/test_schedules.sh tests/test_schedules_crash.sh
TEST_SCRIPTS += tests/test_schedules_attack.sh
TEST_SCRIPTS += tests/test_workers.sh
TEST_SCRIPTS += tests/test_longpoll.sh
TEST_SCRIPTS += tests/test_answers.sh
TEST_SCRIPTS += tests/test_triggers.sh
TEST_SCRIPTS += tests/test_web.sh
TEST_SCRIPTS += tests/test_notify.sh
TEST_SCRIPTS += tests/test_metrics.sh
TEST_SCRIPTS += tests/test_events.sh
TEST_SCRIPTS += tests/test_top.sh
TEST_SCRIPTS += tests/test_events_attack.sh
TEST_SCRIPTS += tests/test_tls.sh tests/test_munge.sh
TEST_SCRIPTS += tests/test_worker.sh
TEST_SCRIPTS += tests/test_slurm.sh
TEST_SCRIPTS += tests/test_reattach.sh
TEST_SCRIPTS += tests/test_batch_slices.sh
BENCH_BINS := $(BUILD)/bench/dispatch $(BUILD)/bench/trace $(BUILD)/bench/spawn \
	$(BUILD)/bench/submit $(BUILD)/bench/json $(BUILD)/bench/journal $(BUILD)/bench/durable \
	$(BUILD)/bench/drain $(BUILD)/bench/restart $(BUILD)/bench/connflood \
	$(BUILD)/bench/scratch $(BUILD)/bench/scale $(BUILD)/bench/claim \
	$(BUILD)/bench/triggers $(BUILD)/bench/schedules
BENCH_BINS += $(BUILD)/bench/cron
BENCH_BINS += $(BUILD)/bench/notify
BENCH_BINS += $(BUILD)/bench/events
BENCH_BINS += $(BUILD)/bench/tls_submit
TOOL_BINS := $(BUILD)/tools/demo
# Run by bench-run in a short configuration, by bench-workers in full.
WORKERS_BENCH := $(BUILD)/bench/workers
JOURNAL_TOOL := $(BUILD)/jobring-journal
DAEMON_SRCS := $(shell find src/daemon -name '*.c')
DAEMON_OBJS := $(DAEMON_SRCS:src/%.c=$(BUILD)/obj/%.o)
# The web dashboard (issue 16): src/daemon/web/'s page, script and styles
# turned into C arrays by tools/embed_web.sh (od and sed) and linked into
# jobringd, which serves them at / and /ui/NAME (src/daemon/api/web.c).
WEB_ASSETS := src/daemon/web/index.html src/daemon/web/app.js src/daemon/web/app.css
WEB_ASSETS_OBJ := $(BUILD)/obj/gen/web_assets.o
DAEMON_OBJS += $(WEB_ASSETS_OBJ)
$(BUILD)/gen/web_assets.c: $(WEB_ASSETS) tools/embed_web.sh
	@mkdir -p $(@D)
	sh tools/embed_web.sh $(WEB_ASSETS) >$@.tmp && mv $@.tmp $@
$(WEB_ASSETS_OBJ): $(BUILD)/gen/web_assets.c src/daemon/web/assets.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@
CLI_SRCS := $(wildcard src/cli/*.c)
CLI_OBJS := $(CLI_SRCS:src/%.c=$(BUILD)/obj/%.o)
DAEMON := $(BUILD)/jobringd
CLI := $(BUILD)/jobring
# jobring-worker (issue 17): an external worker on a compute node, on
# libjobring's client and executor (src/worker/, docs/WORKER.md).
WORKER_SRCS := $(wildcard src/worker/*.c)
WORKER_OBJS := $(WORKER_SRCS:src/%.c=$(BUILD)/obj/%.o)
WORKER := $(BUILD)/jobring-worker
DAEMON_LIBS := -lcjson -lsystemd
# Issue 16's notifications: webhooks through libcurl, signed with
# OpenSSL's HMAC-SHA256.
DAEMON_LIBS += $(shell pkg-config --libs libcurl libcrypto)
# Issue 17: the API over TLS 1.3 (src/daemon/net/tls.c) and libjobring's
# client that speaks it (src/client/): OpenSSL's libssl.
LIBS += $(shell pkg-config --libs libssl libcrypto)
# Issue 17's MUNGE credentials (src/daemon/net/mungeauth.c, and the
# client's src/client/tls.c that makes them): libmunge.
LIBS += -lmunge

STATIC_LIB := $(BUILD)/libjobring.a
SHARED_LIB := $(BUILD)/$(SONAME)
# Everything, internal names included: for the daemon, the CLI, the
# tools, the white-box tests and bench/. Programs outside use libjobring.
INTERNAL_LIB := $(BUILD)/libjobring-internal.a
LINK_LIB := $(INTERNAL_LIB) $(LIBS)
PUBLIC_LINK := $(STATIC_LIB) $(LIBS)
# The test harness (tests/support/harness.h): temporary directories, an
# engine, jobringd started, stopped and scrubbed; linked by every test,
# the crash harness, the probe and every benchmark.
HARNESS_SRCS := $(wildcard tests/support/*.c)
HARNESS_OBJS := $(HARNESS_SRCS:tests/support/%.c=$(BUILD)/harness/%.o)
HARNESS_LIB := $(BUILD)/libjrtest.a
HARNESS_DEPS := $(HARNESS_LIB) tests/support/harness.h
TEST_CFLAGS := $(CFLAGS_ALL) -Itests/support
TEST_LINK := $(HARNESS_LIB) $(LINK_LIB)

.PHONY: all lib bin demo-embedded deps fuzz-deps fuzz fuzz-build fuzz-regress test test-run test-asan test-tsan test-crash bench bench-run bench-peers bench-scaling bench-scale bench-workers demo \
	install clean check-exports check-layers version deb

all: lib bin
lib: $(STATIC_LIB) $(SHARED_LIB) $(BUILD)/jobring.pc
bin: $(DAEMON) $(CLI) $(JOURNAL_TOOL)
bin: $(WORKER)

$(WORKER): $(WORKER_OBJS) $(INTERNAL_LIB)
	$(CC) $(WORKER_OBJS) -o $@ $(LDFLAGS_ALL) $(LINK_LIB) -lcjson

$(DAEMON): $(DAEMON_OBJS) $(INTERNAL_LIB)
	$(CC) $(DAEMON_OBJS) -o $@ $(LDFLAGS_ALL) $(LINK_LIB) $(DAEMON_LIBS)

$(CLI): $(CLI_OBJS) $(INTERNAL_LIB)
	$(CC) $(CLI_OBJS) -o $@ $(LDFLAGS_ALL) $(LINK_LIB) -lcjson

$(BUILD)/obj/%.o: src/%.c $(ALL_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(INTERNAL_LIB): $(LIB_OBJS) $(JOURNAL_OBJS) $(SIM_OBJS) $(CRON_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The public archive: the library's objects linked into one, every global
# symbol but the functions of jobring.h made local, so that a program
# linking it statically cannot collide with an internal name.
$(BUILD)/public-symbols.txt: include/jobring.h
	@mkdir -p $(@D)
	grep -oE '\bjr_[a-z0-9_]+\(' $< | tr -d '(' | sort -u > $@

$(STATIC_LIB): $(LIB_OBJS) $(BUILD)/public-symbols.txt
	@rm -f $@ $(BUILD)/obj/jobring-all.o
	$(LD) -r -o $(BUILD)/obj/jobring-all.o $(LIB_OBJS)
	objcopy --keep-global-symbols=$(BUILD)/public-symbols.txt $(BUILD)/obj/jobring-all.o
	ar rcs $@ $(BUILD)/obj/jobring-all.o

$(SHARED_LIB): $(LIB_OBJS) src/engine/libjobring.map
	$(CC) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=src/engine/libjobring.map $(LDFLAGS_ALL) \
		-o $@ $(LIB_OBJS) $(LIBS)
	ln -sf $(SONAME) $(BUILD)/libjobring.so

$(BUILD)/jobring.pc: jobring.pc.in include/jobring.h
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(JR_VERSION)|' $< > $@

version:
	@echo $(JR_VERSION)

# The shared library exports exactly the functions declared in jobring.h,
# and each has a man page (tools/check-man.sh).
check-exports: $(SHARED_LIB) $(STATIC_LIB)
	@nm -D --defined-only $(SHARED_LIB) | awk '$$2 ~ /[TDBR]/ {sub(/@.*/, "", $$3); print $$3}' \
		| grep -v '^JOBRING_' | sort > $(BUILD)/exports.txt; \
	grep -oE '\bjr_[a-z_]+\(' include/jobring.h | tr -d '(' | sort -u > $(BUILD)/declared.txt; \
	if ! cmp -s $(BUILD)/exports.txt $(BUILD)/declared.txt; then \
		echo "exports differ from jobring.h:"; diff $(BUILD)/declared.txt $(BUILD)/exports.txt; exit 1; fi; \
	echo "exports: the $$(wc -l < $(BUILD)/exports.txt) functions of jobring.h"
	@nm -g --defined-only $(STATIC_LIB) | awk 'NF == 3 {print $$3}' | sort > $(BUILD)/archive-globals.txt; \
	if ! cmp -s $(BUILD)/archive-globals.txt $(BUILD)/declared.txt; then \
		echo "libjobring.a's global symbols differ from jobring.h:"; \
		diff $(BUILD)/declared.txt $(BUILD)/archive-globals.txt; exit 1; fi; \
	echo "libjobring.a: no global symbol but those"
	@tools/check-man.sh $(BUILD)/exports.txt docs/man

# Calls point down the layers of src/LAYERS and no files call each other
# (tools/layers.sh, from the objects' symbols), in every module.
check-layers: $(LIB_OBJS) $(JOURNAL_OBJS) $(SIM_OBJS) $(CRON_OBJS) $(DAEMON_OBJS) $(CLI_OBJS)
check-layers: $(WORKER_OBJS)
	tools/layers.sh $(BUILD)

$(BUILD)/harness/%.o: tests/support/%.c tests/support/harness.h include/jobring.h src/base/common.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

$(HARNESS_LIB): $(HARNESS_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c tests/testutil.h $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(TEST_LINK) -lcmocka -lcjson

# test_cli_units: the CLI's conversions (src/cli/parse.c) alone.
$(BUILD)/tests/test_cli_units: tests/test_cli_units.c $(BUILD)/obj/cli/parse.o $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/cli/parse.o -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		-lcmocka -lcjson

# White-box tests of the daemon's layers link its objects (not main.o):
# test_routes the routing table, test_server the event loop with
# io_uring's submissions wrapped, so that it can refuse them.
DAEMON_TEST_OBJS := $(filter-out $(BUILD)/obj/daemon/main.o,$(DAEMON_OBJS))
NET_OBJS := $(filter $(BUILD)/obj/daemon/net/%,$(DAEMON_OBJS))

$(BUILD)/tests/test_routes: tests/test_routes.c tests/testutil.h $(DAEMON_TEST_OBJS) \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(DAEMON_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		$(DAEMON_LIBS) -lcmocka

# test_jobspecplain: the batch line's plain path against jobspec_parse.
$(BUILD)/tests/test_jobspecplain: tests/test_jobspecplain.c $(DAEMON_TEST_OBJS) \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(DAEMON_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		$(DAEMON_LIBS) -lcmocka

# test_wideworker: worker ids past 16 bits through the slot, the records
# and recovery (daemon/durable/recover.c and what it links).
$(BUILD)/tests/test_wideworker: tests/test_wideworker.c tests/testutil.h $(DAEMON_TEST_OBJS) \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(DAEMON_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		$(DAEMON_LIBS) -lcmocka

# test_reply: the answers' JSON printer (daemon/net/reply.c) against cJSON's.
$(BUILD)/tests/test_reply: tests/test_reply.c $(BUILD)/obj/daemon/net/reply.o \
		$(BUILD)/obj/daemon/net/buf.o $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/daemon/net/reply.o $(BUILD)/obj/daemon/net/buf.o -o $@ \
		$(LDFLAGS_ALL) $(TEST_LINK) -lcmocka -lcjson -lm

# test_answers: the reprinter of the answers written by hand (daemon/state/answers.c)
# against cJSON's parse and print (issue 14).
$(BUILD)/tests/test_answers: tests/test_answers.c tests/testutil.h $(DAEMON_TEST_OBJS) \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(DAEMON_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		$(DAEMON_LIBS) -lcmocka

# test_arrayspec: a job array's index set (daemon/state/arrayspec.c) alone.
$(BUILD)/tests/test_arrayspec: tests/test_arrayspec.c $(BUILD)/obj/daemon/state/arrayspec.o \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/daemon/state/arrayspec.o -o $@ $(LDFLAGS_ALL) \
		$(TEST_LINK) -lcmocka

# test_schedules: schedules in virtual time (daemon/state/schedules.c) alone (issue 15).
SCHEDULES_TEST_OBJS := $(BUILD)/obj/daemon/state/schedules.o $(BUILD)/obj/daemon/state/fired.o
$(BUILD)/tests/test_schedules: tests/test_schedules.c $(SCHEDULES_TEST_OBJS) $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(SCHEDULES_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		-lcmocka -lcjson

# test_triggers_state: the triggers' table (daemon/state/triggers.c, triggerwatch.c).
TRIGGER_STATE_OBJS := $(BUILD)/obj/daemon/state/triggers.o \
	$(BUILD)/obj/daemon/state/triggerwatch.o $(BUILD)/obj/daemon/state/cwdcheck.o \
	$(BUILD)/obj/daemon/state/jsoncheck.o $(BUILD)/obj/daemon/state/jsonfast.o
$(BUILD)/tests/test_triggers_state: tests/test_triggers_state.c $(TRIGGER_STATE_OBJS) \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(TRIGGER_STATE_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		-lcmocka -lcjson

# test_alloc: allocation queues and background commands (issue 17).
ALLOC_TEST_OBJS := $(BUILD)/obj/daemon/state/alloc.o $(BUILD)/obj/daemon/state/allocnode.o \
	$(BUILD)/obj/daemon/state/bgcmd.o
$(BUILD)/tests/test_alloc: tests/test_alloc.c $(ALLOC_TEST_OBJS) $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(ALLOC_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		-lcmocka -lcjson

# test_outbox: the notifications' outbox and settings (issue 16).
OUTBOX_TEST_OBJS := $(BUILD)/obj/daemon/state/outbox.o $(BUILD)/obj/daemon/state/notifyspec.o \
	$(BUILD)/obj/daemon/state/notifysend.o
$(BUILD)/tests/test_outbox: tests/test_outbox.c $(OUTBOX_TEST_OBJS) $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(OUTBOX_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		-lcmocka -lcjson $(shell pkg-config --libs libcurl libcrypto)

# test_lease: the lease tokens (daemon/state/lease.c) alone.
$(BUILD)/tests/test_lease: tests/test_lease.c $(BUILD)/obj/daemon/state/lease.o $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/daemon/state/lease.o -o $@ $(LDFLAGS_ALL) $(TEST_LINK) \
		-lcmocka

# test_executions: the history of executions (daemon/state/executions.c) alone.
$(BUILD)/tests/test_executions: tests/test_executions.c $(BUILD)/obj/daemon/state/executions.o \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/daemon/state/executions.o -o $@ $(LDFLAGS_ALL) \
		$(TEST_LINK) -lcmocka

# test_jsonfast: the fast JSON path (daemon/state/jsonfast.c) against cJSON.
$(BUILD)/tests/test_jsonfast: tests/test_jsonfast.c $(BUILD)/obj/daemon/state/jsonfast.o \
		$(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/daemon/state/jsonfast.o -o $@ $(LDFLAGS_ALL) \
		$(TEST_LINK) -lcmocka -lcjson

# test_jobindex: the listings' index (daemon/state/jobindex.c, slotset.c) alone.
JOBINDEX_OBJS := $(BUILD)/obj/daemon/state/jobindex.o $(BUILD)/obj/daemon/state/slotset.o \
	$(BUILD)/obj/daemon/state/submitted.o
$(BUILD)/tests/test_jobindex: tests/test_jobindex.c $(JOBINDEX_OBJS) $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(JOBINDEX_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) -lcmocka

# test_gate: the TCP listeners' checks (daemon/net/gate.c, issue 16) alone.
GATE_OBJS := $(BUILD)/obj/daemon/net/gate.o $(BUILD)/obj/daemon/net/http.o \
	$(BUILD)/obj/daemon/net/buf.o
$(BUILD)/tests/test_gate: tests/test_gate.c $(GATE_OBJS) $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(GATE_OBJS) -o $@ $(LDFLAGS_ALL) $(TEST_LINK) -lcmocka

$(BUILD)/tests/test_server: tests/test_server.c tests/testutil.h $(NET_OBJS) $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(NET_OBJS) -o $@ $(LDFLAGS_ALL) \
		-Wl,--wrap=io_uring_submit,--wrap=io_uring_submit_and_wait $(TEST_LINK) \
		$(DAEMON_LIBS) -lcmocka

# jobring-journal: reads a state directory's records (records.h).
$(JOURNAL_TOOL): tools/jobring-journal.c src/daemon/durable/records.h $(INTERNAL_LIB)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LDFLAGS_ALL) $(LINK_LIB)

# The crash harness (make test-crash): reads the journal's records.
$(BUILD)/tests/crash: tests/crash.c src/daemon/durable/records.h $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(TEST_LINK)

# Receives what jobringd tells systemd (tests/test_systemd.sh).
$(BUILD)/tests/notify_listen: tests/notify_listen.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LDFLAGS_ALL)

# The shell suites' requests (tests/lib.sh's req), cheaper than curl:
# built without the mode's sanitizers, whose start-up it would pay.
$(BUILD)/tests/jrreq: tests/jrreq.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O2 $< -o $@

# GET /health timed while something else happens (tests, bench/snapshot).
$(BUILD)/tests/probe: tests/probe.c $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(TEST_LINK)

# The README's embedded example, extracted and compiled as a test.
$(BUILD)/tests/readme_example.c: README.md
	@mkdir -p $(@D)
	awk '/<!-- example:begin -->/{f=1;next} /<!-- example:end -->/{f=0} f && !/^```/' $< > $@

$(BUILD)/tests/readme_example: $(BUILD)/tests/readme_example.c $(STATIC_LIB)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LDFLAGS_ALL) $(PUBLIC_LINK)

$(BUILD)/bench/%: bench/%.c bench/benchutil.h bench/daemonutil.h $(HARNESS_DEPS) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(TEST_LINK)

# 100,000 schedules firing (issue 15): reads GET /jobs with cJSON.
$(BUILD)/bench/schedules: bench/schedules.c bench/benchutil.h bench/daemonutil.h $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(TEST_LINK) -lcjson

# The event stream's cost to submission (issue 16).
$(BUILD)/bench/events: bench/events.c bench/benchutil.h bench/daemonutil.h $(HARNESS_DEPS) \
		$(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(TEST_LINK)

# The JSON libraries compared (docs/DECISIONS.md).
$(BUILD)/bench/json: bench/json.c bench/benchutil.h $(HARNESS_DEPS) \
		$(BUILD)/obj/daemon/state/jsonfast.o
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< $(BUILD)/obj/daemon/state/jsonfast.o -o $@ $(LDFLAGS_ALL) \
		$(HARNESS_LIB) -lcjson -ljansson

$(BUILD)/tools/%: tools/%.c $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LDFLAGS_ALL) $(LINK_LIB)

# --- fuzzing (tests/fuzz/, docs/TESTING.md "Fuzzing") ----------------------------------------
# Each harness is tests/fuzz/NAME.c (LLVMFuzzerTestOneInput) linked with
# the daemon's objects: with libFuzzer in make fuzz (MODE=fuzz, clang,
# build/fuzz), and with replay.c's main in every test mode, where
# tests/fuzz/regress.sh feeds it tests/fuzz/seeds/NAME/ and
# tests/fuzz/regress/NAME/ (every finding's input, kept).
FUZZ_NAMES := http jobspec batch units journal snapshot
FUZZ_SECONDS ?= 300
FUZZ_CC ?= clang-14
FUZZ_SUPPORT := tests/fuzz/scratch.c tests/fuzz/engine.c tests/fuzz/records.c
FUZZ_DEPS := $(FUZZ_SUPPORT) $(wildcard tests/fuzz/*.h) $(DAEMON_TEST_OBJS) $(INTERNAL_LIB)
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzzers/%)
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz-%)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itests/fuzz $< $(FUZZ_SUPPORT) $(DAEMON_TEST_OBJS) -o $@ \
		$(LDFLAGS_ALL) -fsanitize=fuzzer $(LINK_LIB) $(DAEMON_LIBS)

$(BUILD)/tests/fuzz-%: tests/fuzz/%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itests/fuzz $< tests/fuzz/replay.c $(FUZZ_SUPPORT) \
		$(DAEMON_TEST_OBJS) -o $@ $(LDFLAGS_ALL) $(LINK_LIB) $(DAEMON_LIBS)

# The replay alone (make test runs it among TEST_SCRIPTS).
fuzz-regress: $(FUZZ_REPLAYS)
	tests/fuzz/regress.sh $(BUILD)

# jobringd is built too: tests/fuzz/seeds.sh takes the journal and
# snapshot seeds from one it runs.
fuzz-build: $(FUZZ_BINS) $(FUZZ_REPLAYS) $(DAEMON)

# Each harness FUZZ_SECONDS under ASan+UBSan (FUZZ_JOBS at a time, at
# nice 19), corpus kept in build/fuzz/corpus/NAME, findings in
# build/fuzz/crashes/NAME; fails if any harness found anything.
# FUZZ_ONLY="http units" runs some.
FUZZ_JOBS ?= 1
FUZZ_ONLY ?= $(FUZZ_NAMES)
fuzz: fuzz-deps
	$(MAKE) -j$(BUILD_JOBS) MODE=fuzz BUILD=build/fuzz CC=$(FUZZ_CC) fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_ONLY)

# apt-get install what of $(1) is missing (as root), after apt-get update.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
			|| missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make $@: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make $@: run as root (or install:$$missing)"; exit 1; fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PACKAGES))

fuzz-deps: deps
	$(call install_missing,$(FUZZ_PACKAGES))

TEST_TIMEOUT ?= 600
# The shell suites run TEST_JOBS at a time (tests/run_suites.sh; default
# the core count, at least 2), the longest first so that they overlap the
# rest; TEST_ALONE's run with nothing beside them (1,024 processes at once).
TEST_SLOW_FIRST := tests/test_bighost.sh tests/test_keeper.sh tests/test_fallback.sh \
	tests/test_durable.sh tests/test_arrays.sh tests/test_workers.sh tests/test_progress.sh \
	tests/test_output.sh tests/test_control.sh tests/test_reattach.sh tests/test_worker.sh \
	tests/test_input.sh tests/test_schedules.sh tests/test_triggers.sh
TEST_ALONE := tests/test_bighost.sh

# What the suites run, built JOBS at a time (make's -j; the test targets
# build first, then run the tests one make at a time). tests/test_worker.sh
# runs jobring-worker (issue 17).
BUILD_JOBS ?= $(shell nproc)
.PHONY: test-build
test-build: $(WORKER)
test-build: $(TEST_BINS) $(DAEMON) $(CLI) $(JOURNAL_TOOL) $(BUILD)/tests/probe \
		$(BUILD)/tests/notify_listen $(BUILD)/tests/jrreq $(SHARED_LIB) $(BUILD)/jobring.pc \
		$(FUZZ_REPLAYS)
# The C suites run beside the shell suites (tests/run_suites.sh), after
# the slow shell suites and before the rest: one at a time they were 85 s
# of the debug run, 149 s of TSan's.
test-run: test-build
	@TEST_ALONE="$(TEST_ALONE)" TEST_TIMEOUT=$(TEST_TIMEOUT) tests/run_suites.sh $(BUILD) \
		$(filter $(TEST_SCRIPTS),$(TEST_SLOW_FIRST)) $(TEST_BINS) \
		$(filter-out $(TEST_SLOW_FIRST),$(TEST_SCRIPTS)); \
	rc=$$?; echo "$(MODE): $$([ $$rc = 0 ] && echo passed || echo FAILED)"; exit $$rc

test: deps
	$(MAKE) -j$(BUILD_JOBS) MODE=debug BUILD=build/debug test-build
	$(MAKE) MODE=debug BUILD=build/debug check-exports check-layers test-run
	tests/install_check.sh

# Under the sanitizers, every suite but those that only load the host
# (1,024 processes at once; the keeper suite again without cgroups; a
# thousand schedules through kill -9s, which test-crash's harness and the
# debug run cover; the keeper's 200 jobs that sleep through a kill -9,
# 80 s mostly waiting, whose keeper code test_durable and test_harness
# run under the sanitizers too): they find nothing a sanitizer adds and
# cost minutes.
SANITIZER_SKIP := tests/test_bighost.sh tests/test_fallback.sh tests/test_schedules_crash.sh \
	tests/test_keeper.sh
SANITIZER_SCRIPTS = $(filter-out $(SANITIZER_SKIP),$(TEST_SCRIPTS))
# A sanitized daemon fills its job table's shadow memory at start: with
# the default 1,048,576 slots a start took 3.2 s under ASan and 12 s under
# TSan (0.6 and 1.9 s with 65,536), and the suites start about two
# hundred. A suite's own --capacity (after these) still wins; the debug
# run keeps the default.
SANITIZER_DAEMON_ARGS := --capacity 65536

test-asan: deps
	$(MAKE) -j$(BUILD_JOBS) MODE=asan BUILD=build/asan test-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	JR_TEST_SCALE=$${JR_TEST_SCALE:-4} JR_DAEMON_ARGS="$(SANITIZER_DAEMON_ARGS) $${JR_DAEMON_ARGS:-}" \
	$(MAKE) MODE=asan BUILD=build/asan TEST_SCRIPTS="$(SANITIZER_SCRIPTS)" test-run

# ThreadSanitizer finds races between threads: it runs every C suite (the
# engine's lock-free rings, the coordinator, runner and worker threads)
# and the shell suites whose processes run a second thread: the keeper's
# spawn threads (command jobs), the runner threads (--no-keeper), the
# snapshot writer and recovery's parse helpers, the notification senders,
# jobring-worker's claimer. The other suites drive the daemon's one
# event-loop thread, where TSan has nothing to compare; ASan+UBSan runs
# them all. test_durable's kill -9 loops took 399 s under TSan (the long
# pole of .ci/run), and the threads they run, the snapshot writer and
# recovery's parse helpers, test_snapshot and test_arrays run there too.
# TSAN_SCRIPTS=all runs every suite.
TSAN_THREAD_SCRIPTS := tests/test_daemon.sh tests/test_snapshot.sh \
	tests/test_arrays.sh tests/test_progress.sh tests/test_notify.sh tests/test_worker.sh \
	tests/test_reattach.sh tests/test_output.sh tests/test_control.sh tests/test_munge.sh
TSAN_SCRIPTS ?= thread
TSAN_RUN_SCRIPTS = $(if $(filter all,$(TSAN_SCRIPTS)),$(SANITIZER_SCRIPTS),$(filter $(TSAN_THREAD_SCRIPTS),$(SANITIZER_SCRIPTS)))

test-tsan: deps
	$(MAKE) -j$(BUILD_JOBS) MODE=tsan BUILD=build/tsan test-build
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	JR_TEST_SCALE=$${JR_TEST_SCALE:-8} JR_DAEMON_ARGS="$(SANITIZER_DAEMON_ARGS) $${JR_DAEMON_ARGS:-}" \
	$(MAKE) MODE=tsan BUILD=build/tsan TEST_SCRIPTS="$(TSAN_RUN_SCRIPTS)" test-run

# kill -9 at random moments while clients submit; JR_CRASH_ITERATIONS=50.
test-crash: deps
	$(MAKE) -j$(BUILD_JOBS) MODE=debug BUILD=build/debug $(DAEMON) build/debug/tests/crash
	build/debug/tests/crash build/debug $${JR_CRASH_ITERATIONS:-50}

bench-run: $(BENCH_BINS) $(WORKERS_BENCH) $(DAEMON) $(CLI)
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	JR_WORKERS_N=1000 JR_WORKERS_HB=4000 JR_WORKERS_SECONDS=3 JR_WORKERS_RUNS=1 $(WORKERS_BENCH)
	JR_BENCH_WORKERS=100 JR_BENCH_RUNS=1 bench/remote_workers.sh $(BUILD)

# External workers at full size (bench/workers.c): 4,000 long-polling
# workers, 10,000 heartbeating, medians of 3 runs of 5 s. Another daemon to
# compare with: JR_WORKERS_DAEMON=path/to/jobringd.
bench-workers: deps
	$(MAKE) MODE=release BUILD=build/release lib bin build/release/bench/workers
	build/release/bench/workers

bench: deps
	$(MAKE) MODE=release BUILD=build/release bench-run

# jobring-worker processes against one daemon (issue 17, bench/remote_workers.sh):
# claim->complete of no-op jobs next to bench/workers' in-process driver,
# reconnection after a restart, nothing lost through kill -9. 1,000
# workers unless JR_BENCH_WORKERS says otherwise.
.PHONY: bench-remote-workers
bench-run: $(WORKER)
bench-remote-workers: deps
	$(MAKE) MODE=release BUILD=build/release bin build/release/bench/workers
	JR_BENCH_WORKERS=$${JR_BENCH_WORKERS:-1000} bench/remote_workers.sh build/release

# The web dashboard with 1,000,000 jobs in the daemon, in headless
# Chromium (issue 16; a few minutes, most of it loading the jobs).
.PHONY: bench-dashboard
bench-dashboard:
	$(MAKE) MODE=release BUILD=build/release build/release/jobringd
	bench/dashboard.sh build/release $(DASHBOARD_JOBS)

# The same benchmarks at 1 to 16 workers, for a larger host.
bench-scaling: deps
	$(MAKE) MODE=release BUILD=build/release lib bin $(BENCH_BINS)
	bench/scaling.sh build/release

# GET /jobs and the daemon's memory per queued job at 1M and 2M jobs
# (bench/scale; JR_SCALE_SIZES="10000000" for the full size, which wants
# some 8 GB free). `make bench` runs it at 100,000.
bench-scale: deps
	$(MAKE) MODE=release BUILD=build/release lib bin build/release/bench/scale
	for n in $${JR_SCALE_SIZES:-1000000 2000000}; do \
		JR_SCALE_JOBS=$$n JR_BENCH_RUNS=$${JR_BENCH_RUNS:-1} build/release/bench/scale || exit 1; \
	done

# jobringd against a PostgreSQL queue in the same run (skips without it).
PG_HEADER := $(wildcard /usr/include/postgresql/libpq-fe.h)
$(BUILD)/bench/pgqueue: bench/pgqueue.c bench/benchutil.h $(HARNESS_DEPS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -I/usr/include/postgresql $< -o $@ $(LDFLAGS_ALL) $(HARNESS_LIB) \
		-lpq -lpthread

bench-peers: deps
	$(MAKE) MODE=release BUILD=build/release lib bin build/release/bench/durable \
		$(if $(PG_HEADER),build/release/bench/pgqueue)
	bench/peers.sh build/release

demo: deps
	$(MAKE) -j$(BUILD_JOBS) MODE=release BUILD=build/release lib bin
	tools/demo.sh build/release

# The embedded engine: 1M function jobs in-process.
demo-embedded: deps
	$(MAKE) MODE=release BUILD=build/release lib $(TOOL_BINS)
	build/release/tools/demo

install: lib bin
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(CLI) $(JOURNAL_TOOL) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(WORKER) $(DESTDIR)$(PREFIX)/bin/
	sed 's|@VERSION@|$(JR_VERSION)|' docs/man/jobring-worker.1 > $(DESTDIR)$(PREFIX)/share/man/man1/jobring-worker.1
	install -m 755 $(DAEMON) $(DESTDIR)$(PREFIX)/sbin/
	sed 's|@VERSION@|$(JR_VERSION)|' docs/man/jobring.1 > $(DESTDIR)$(PREFIX)/share/man/man1/jobring.1
	sed 's|@VERSION@|$(JR_VERSION)|' docs/man/jobringd.8 > $(DESTDIR)$(PREFIX)/share/man/man8/jobringd.8
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libjobring.so
	install -m 644 include/jobring.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(JR_VERSION)|' jobring.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/jobring.pc
	for p in docs/man/*.3; do sed 's|@VERSION@|$(JR_VERSION)|' $$p \
		> $(DESTDIR)$(PREFIX)/share/man/man3/$${p##*/}; done
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed -e 's|@SBINDIR@|$(PREFIX)/sbin|' tools/systemd/jobringd.service.in \
		> $(DESTDIR)$(SYSTEMD_UNIT_DIR)/jobringd.service
	install -m 644 tools/systemd/jobringd.socket $(DESTDIR)$(SYSTEMD_UNIT_DIR)/

# make deb: build/jobring_VERSION_ARCH.deb, the release build staged by
# `make install PREFIX=/usr` and packaged by tools/deb/build.sh (Depends
# from dpkg-shlibdeps); tests/package_check.sh installs and drives it.
DEB_VERSION := $(JR_VERSION)
DEB_WORK := build/deb
DEB_MAINTAINER ?= jobring maintainers <maintainers@jobring.invalid>

.PHONY: deb
deb: deps
	$(MAKE) -j$(BUILD_JOBS) MODE=release BUILD=build/release lib bin
	rm -rf $(DEB_WORK)
	$(MAKE) -s MODE=release BUILD=build/release install PREFIX=/usr \
		SYSTEMD_UNIT_DIR=/lib/systemd/system DESTDIR=$(CURDIR)/$(DEB_WORK)/debian/jobring
	tools/deb/build.sh $(DEB_WORK) $(DEB_VERSION) build "$(DEB_MAINTAINER)"

clean:
	rm -rf build
