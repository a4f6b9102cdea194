# sohoa — scanner batches → searchable PDFs + Vietnamese full-text index.
#
#   make run     install missing packages (as root), build, process samples/, search
#   make test    the same set-up (deps), then `make check`
#   make check   the whole test suite, offline (-Werror; also under ASan/UBSan)
#   make bench   speed figures (pages/min, per-stage time, layout CPU time)
#   make bench-web  the search site under wrk (BENCH_WEB_PAGES, _DIR, _SECONDS)
#   make deps    check libraries; as root install missing Debian packages
#   make install / uninstall   (DESTDIR, PREFIX, BINDIR, MANDIR, ...)
#
# The user's CPPFLAGS, CFLAGS, LDFLAGS and LDLIBS are added to the project's
# own flags (SH_*), never replace them: `make CFLAGS=-O1` keeps -std=c11 and
# the libraries.  Warnings are errors only with WERROR=-Werror, which `make
# check` and `make test` pass; a packager's plain `make` does not stop on a
# new compiler's new warning.

VERSION  := 0.1.0

CC       ?= cc
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
DOCDIR   ?= $(PREFIX)/share/doc/sohoa
WAREHOUSE ?= warehouse

# pkg-config module → Debian package
PKGS := tesseract:libtesseract-dev lept:libleptonica-dev libtiff-4:libtiff-dev \
        libjpeg:libjpeg-dev libpng:libpng-dev sqlite3:libsqlite3-dev libdeflate:libdeflate-dev \
        jansson:libjansson-dev libsodium:libsodium-dev libcrypto:libssl-dev zlib:zlib1g-dev \
        libmicrohttpd:libmicrohttpd-dev libqpdf:libqpdf-dev jbig2dec:libjbig2dec0-dev \
        poppler-glib:libpoppler-glib-dev \
        zbar:libzbar-dev libqrencode:libqrencode-dev cairo:libcairo2-dev
PC_MODS := $(foreach p,$(PKGS),$(firstword $(subst :, ,$(p))))
# packages checked by file: header or data file → Debian package
FILE_DEPS := /usr/include/uninorm.h:libunistring-dev \
        /usr/share/tesseract-ocr/5/tessdata/vie.traineddata:tesseract-ocr-vie \
        /usr/share/tesseract-ocr/5/tessdata/osd.traineddata:tesseract-ocr-osd \
        /usr/bin/pdftotext:poppler-utils /usr/bin/qpdf:qpdf \
        /usr/bin/text2image:tesseract-ocr \
        /usr/lib/python3/dist-packages/Levenshtein:python3-levenshtein \
        /usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf:fonts-liberation \
        /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core \
        /usr/bin/chromium:chromium /usr/sbin/slurmctld:slurm-wlm \
        /usr/sbin/munged:munge /usr/bin/parallel:parallel \
        /usr/bin/pkg-config:pkg-config /usr/bin/sqlite3:sqlite3 /usr/bin/pdfinfo:poppler-utils \
        /usr/share/color/icc/sRGB.icc:icc-profiles-free /usr/bin/pdffonts:poppler-utils \
        /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf:fonts-liberation2 \
        /usr/share/java/preflight.jar:libpdfbox2-java /usr/share/java/jaxb-api.jar:libjaxb-api-java \
        /usr/bin/npm:npm /usr/share/hunspell/vi_VN.dic:hunspell-vi \
        /usr/include/ZXing/ReadBarcode.h:libzxing-dev \
        /usr/bin/wrk:wrk
# The best-accuracy Vietnamese model (tessdata 4.0.0_best_int, the larger
# LSTM; sohoa run --model best) from npm, pinned and checked;
# Debian's tesseract-ocr-vie (the fast one) stays the fallback.
VIE_BEST_NPM    := @tesseract.js-data/vie@1.0.0
VIE_BEST_TGZ    := 4f0a17b39722269c1c5e5f10d7aa3acd9a74fe46b109621973450caa4d9fe19f
VIE_BEST_SHA256 := 112f6fd1d04ab4cb0208cad9cada8de214ae33a1e4db3750ffcda69262aef0a8
OSD_DATA        := /usr/share/tesseract-ocr/5/tessdata/osd.traineddata
TESSDATA        ?= build/tessdata

HAVE_PC := $(shell command -v pkg-config >/dev/null 2>&1 && echo yes)
ifeq ($(HAVE_PC),yes)
PC_CFLAGS := $(shell pkg-config --cflags $(PC_MODS) 2>/dev/null)
PC_LIBS   := $(shell pkg-config --libs $(PC_MODS) 2>/dev/null)
endif

# The user's flags (defaults for CFLAGS only; empty otherwise).
CFLAGS   ?= -O2 -g
WERROR   ?=
# The project's own flags: always there, whatever the user passes.
WARN        := -Wall -Wextra -Wstrict-prototypes -Wvla -Wshadow -Wno-unused-parameter
SH_CPPFLAGS := -D_GNU_SOURCE $(PC_CFLAGS) -DSH_DATADIR='"$(PREFIX)/share/sohoa"'
SH_CFLAGS   := -std=c11 $(WARN) $(WERROR)
SH_LDFLAGS  :=
SH_LDLIBS   := $(PC_LIBS) -lunistring -lm
DEPFLAGS    := -MMD -MP

BUILD   ?= build
ifdef SANITIZE
BUILD   := build-asan
# after the user's CFLAGS, so the sanitizers' -O1 holds
SAN_CFLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SH_LDFLAGS += -fsanitize=address,undefined
endif

# compile (add -c), and compile-and-link / link (add the objects, then LINK_LIBS)
COMPILE   = $(CC) $(SH_CPPFLAGS) $(CPPFLAGS) $(SH_CFLAGS) $(CFLAGS) $(SAN_CFLAGS)
LINK      = $(COMPILE) $(SH_LDFLAGS) $(LDFLAGS)
LINK_LIBS = $(SH_LDLIBS) $(LDLIBS)

# Every .c of each room is in the library (files may be added, moved or
# split within and between rooms); pipeline/main.c is the command.
ROOMS    := base scanners ocr index web pipeline
MAIN_SRC := pipeline/main.c
LIB_SRC  := $(filter-out $(EXCLUDE) $(MAIN_SRC),$(wildcard $(ROOMS:%=%/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(filter-out $(EXCLUDE),$(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(wildcard samples/tools/*.c)

.PHONY: all deps run test check check-rooms unit e2e asan bench bench-search bench-web clean \
        install uninstall model samples robust soak test-cluster FORCE
all: $(BUILD)/sohoa sohoa

sohoa: $(BUILD)/sohoa
	@[ "$(BUILD)" = build ] && ln -sf $(BUILD)/sohoa sohoa || true

# Objects are remade when the flags change (e.g. `make all` then `make
# check`, which adds -Werror) and the library when its list of sources does
# (a file removed or moved between rooms); cf. git's GIT-CFLAGS.
sq = $(subst ','\'',$(1))
FLAGS_LINE := $(VERSION) | $(COMPILE) $(DEPFLAGS) | $(LINK) | $(LINK_LIBS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D); f='$(call sq,$(FLAGS_LINE))'; \
	[ "$$f" = "$$(cat $@ 2>/dev/null)" ] || printf '%s\n' "$$f" >$@
$(BUILD)/.lib-src: FORCE
	@mkdir -p $(@D); f='$(call sq,$(sort $(LIB_SRC)))'; \
	[ "$$f" = "$$(cat $@ 2>/dev/null)" ] || printf '%s\n' "$$f" >$@

# the Vietnamese model is built into vnlm_blob.o (.incbin)
$(BUILD)/ocr/vnlm_blob.o: ocr/data/vnlm.bin

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(COMPILE) $(DEPFLAGS) -c $< -o $@

# the version: one place (VERSION above), for `sohoa --version`
$(BUILD)/pipeline/main.o: private SH_CPPFLAGS += -DSH_VERSION='"$(VERSION)"'

$(BUILD)/libsohoa.a: $(LIB_OBJ) $(BUILD)/.lib-src
	rm -f $@; ar rcs $@ $(LIB_OBJ)

$(BUILD)/sohoa: $(BUILD)/pipeline/main.o $(BUILD)/libsohoa.a
	$(LINK) -o $@ $^ $(LINK_LIBS)

$(BUILD)/unit: $(TEST_OBJ) $(BUILD)/libsohoa.a
	$(LINK) -o $@ $^ $(LINK_LIBS)

$(BUILD)/tools/%: samples/tools/%.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $< $(LINK_LIBS)

# ---- set-up --------------------------------------------------------------
deps:
	@missing=""; \
	for p in $(PKGS); do m=$${p%%:*}; d=$${p#*:}; \
	  command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $$m || missing="$$missing $$d"; done; \
	for p in $(FILE_DEPS); do f=$${p%%:*}; d=$${p#*:}; \
	  [ -e $$f ] || missing="$$missing $$d"; done; \
	command -v $(CC) >/dev/null 2>&1 || missing="$$missing gcc"; \
	if [ -z "$$missing" ]; then echo "deps: all present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	else echo "deps: missing; run as root:  apt-get install$$missing"; exit 1; fi
	@$(MAKE) --no-print-directory model || echo "deps: the best model is not installed;" \
	  "sohoa reads with Debian's fast one (the default); 'make model' tries again"

# The best model into $(TESSDATA) (osd linked from Debian's folder): npm pack
# of the pinned version, both the package and the model checked by SHA-256.
model:
	@if [ -f $(TESSDATA)/vie.traineddata ] && \
	  echo "$(VIE_BEST_SHA256)  $(TESSDATA)/vie.traineddata" | sha256sum -c --status; then \
	  echo "model: best Vietnamese model present in $(TESSDATA)"; exit 0; fi; \
	t=$$(mktemp -d) && trap 'rm -rf "$$t"' EXIT && \
	(cd "$$t" && npm pack --silent $(VIE_BEST_NPM) >/dev/null) && \
	echo "$(VIE_BEST_TGZ)  $$(ls "$$t"/*.tgz)" | sha256sum -c --status || \
	  { echo "model: $(VIE_BEST_NPM) not fetched or not the pinned package"; exit 1; }; \
	tar -xzf "$$t"/*.tgz -C "$$t" package/4.0.0_best_int/vie.traineddata.gz && \
	gunzip -c "$$t"/package/4.0.0_best_int/vie.traineddata.gz >"$$t"/vie.traineddata && \
	echo "$(VIE_BEST_SHA256)  $$t/vie.traineddata" | sha256sum -c --status || \
	  { echo "model: vie.traineddata in $(VIE_BEST_NPM) is not the pinned one"; exit 1; }; \
	mkdir -p $(TESSDATA) && install -m 0644 "$$t"/vie.traineddata $(TESSDATA)/vie.traineddata && \
	ln -sf $(OSD_DATA) $(TESSDATA)/osd.traineddata && \
	echo "model: best Vietnamese model installed in $(TESSDATA)"

run: deps
	$(MAKE) all
	./sohoa run --warehouse $(WAREHOUSE) samples/batch
	./sohoa status --warehouse $(WAREHOUSE)
	./sohoa search --warehouse $(WAREHOUSE) "dat dai"

# ---- tests ---------------------------------------------------------------
# `make check` builds with -Werror (and again under ASan/UBSan into
# build-asan/) and runs the whole suite; it needs no network.  `make test`
# is `make deps` (which may apt-get install, as root) and then `make check`.
CHECK_ENV := ASAN_OPTIONS=halt_on_error=1:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
SOHOA_BIN := $(CURDIR)/$(BUILD)/sohoa
ASAN_BIN  := $(CURDIR)/build-asan/sohoa

test: deps
	$(MAKE) check

# The sample makers the test scripts run are built here, so that a stale
# one (older than its source) is never used.
TEST_TOOLS = $(addprefix $(BUILD)/tools/,mksample mktextpdf mkjpegtiff mkshard)
check:
	$(MAKE) WERROR=-Werror all $(BUILD)/unit $(TEST_TOOLS)
	$(MAKE) WERROR=-Werror SANITIZE=1 build-asan/sohoa build-asan/unit
	@echo "== unit tests"; $(BUILD)/unit
	@echo "== unit tests under ASan/UBSan"; $(CHECK_ENV) build-asan/unit
	@echo "== end-to-end"; SOHOA=$(SOHOA_BIN) SOHOA_ASAN=$(ASAN_BIN) bash tests/e2e.sh
	@echo "== archive: manifest, PDF/A, documents, export"; SOHOA=$(SOHOA_BIN) bash tests/export.sh
	@echo "== stream: separator sheets cut a stack into dossiers"; SOHOA=$(SOHOA_BIN) bash tests/stream.sh
	@echo "== review: the clerk's review station (CLI)"; SOHOA=$(SOHOA_BIN) bash tests/review.sh
	@echo "== robustness"; SOHOA=$(SOHOA_BIN) SOHOA_ASAN=$(ASAN_BIN) bash tests/robust.sh
	@echo "== web"; SOHOA=$(SOHOA_BIN) bash tests/web.sh
	@echo "== web under attack (loopback)"; SOHOA=$(SOHOA_BIN) bash tests/web_attack.sh
	@echo "== browser"; SOHOA=$(SOHOA_BIN) bash tests/browser.sh
	@echo "== cluster"; SOHOA=$(SOHOA_BIN) bash tests/cluster.sh
	@echo "== shards served together"; SOHOA=$(SOHOA_BIN) MKSHARD=$(CURDIR)/$(BUILD)/tools/mkshard bash tests/shards.sh
	@echo "== cluster on Slurm"; SOHOA=$(SOHOA_BIN) bash tests/cluster.sh slurm; rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]
	@$(MAKE) --no-print-directory check-rooms

# The rooms' rules (no include points up a room, files' length, ...), when
# ../shared has the checker; last in `make check`, so the suite's results
# are seen even when it fails.
CHECK_ROOMS := ../shared/tools/check-rooms
check-rooms:
	@if [ -f $(CHECK_ROOMS) ]; then echo "== rooms"; python3 $(CHECK_ROOMS) .; \
	else echo "== rooms: $(CHECK_ROOMS) absent, skipped"; fi

test-cluster: deps
	$(MAKE) all
	SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/cluster.sh && SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/cluster.sh slurm

robust: deps
	$(MAKE) all
	$(MAKE) SANITIZE=1 build-asan/sohoa
	SOHOA=$(CURDIR)/$(BUILD)/sohoa SOHOA_ASAN=$(CURDIR)/build-asan/sohoa bash tests/robust.sh $(T)

soak: deps
	$(MAKE) all
	SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/soak.sh

# What install puts in place; uninstall removes exactly these (and DOCDIR,
# which is sohoa's own folder, when it is left empty).
INSTALLED := $(BINDIR)/sohoa $(MANDIR)/man1/sohoa.1 $(UNITDIR)/sohoa.service \
             $(UNITDIR)/sohoa.timer $(DOCDIR)/sohoa.cron

install: $(BUILD)/sohoa
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BUILD)/sohoa $(DESTDIR)$(BINDIR)/sohoa
	install -m 0644 ops/sohoa.1 $(DESTDIR)$(MANDIR)/man1/sohoa.1
	sed 's|/usr/local/bin/sohoa|$(BINDIR)/sohoa|' ops/sohoa.service >$(DESTDIR)$(UNITDIR)/sohoa.service
	sed 's|^PATH=/usr/local/bin:|PATH=$(BINDIR):|' ops/sohoa.cron >$(DESTDIR)$(DOCDIR)/sohoa.cron
	chmod 0644 $(DESTDIR)$(UNITDIR)/sohoa.service $(DESTDIR)$(DOCDIR)/sohoa.cron
	install -m 0644 ops/sohoa.timer $(DESTDIR)$(UNITDIR)/sohoa.timer
	@if [ -f $(TESSDATA)/vie.traineddata ]; then \
	  install -d $(DESTDIR)$(PREFIX)/share/sohoa/tessdata && \
	  install -m 0644 $(TESSDATA)/vie.traineddata $(DESTDIR)$(PREFIX)/share/sohoa/tessdata/vie.traineddata && \
	  ln -sf $(OSD_DATA) $(DESTDIR)$(PREFIX)/share/sohoa/tessdata/osd.traineddata; \
	else echo "install: no best model in $(TESSDATA) (make deps); sohoa reads with the fast one"; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	[ ! -d $(DESTDIR)$(DOCDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(PREFIX)/share/sohoa/tessdata/vie.traineddata \
	      $(DESTDIR)$(PREFIX)/share/sohoa/tessdata/osd.traineddata
	for d in $(DESTDIR)$(PREFIX)/share/sohoa/tessdata $(DESTDIR)$(PREFIX)/share/sohoa; do \
	  [ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done

unit: $(BUILD)/unit
	$(BUILD)/unit $(T)

# Speed is printed here, never asserted by the tests: `build/unit --bench`
# (CPU time of the layout functions), then a timed run over copies of samples/.
bench: deps
	$(MAKE) all $(BUILD)/unit $(BUILD)/tools/mksheet
	SOHOA=$(SOHOA_BIN) UNIT=$(CURDIR)/$(BUILD)/unit bash tests/bench.sh

$(BUILD)/bench_search: tests/bench/bench_search.c $(BUILD)/libsohoa.a $(BUILD)/.flags
	$(LINK) -o $@ $< $(BUILD)/libsohoa.a $(LINK_LIBS)

# generated shard warehouses for tests/shards.sh (no OCR)
$(BUILD)/tools/mkshard: tests/shards/mkshard.c $(BUILD)/libsohoa.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $< $(BUILD)/libsohoa.a $(LINK_LIBS)

# A 1M-page catalog searched as built, then after `sohoa optimize`'s merge.
BENCH_SEARCH_DIR ?= /tmp/sohoa-bench-search
bench-search: deps
	$(MAKE) $(BUILD)/bench_search
	$(BUILD)/bench_search --dir $(BENCH_SEARCH_DIR) --keep
	$(BUILD)/bench_search --dir $(BENCH_SEARCH_DIR) --reuse --optimize
	rm -rf $(BENCH_SEARCH_DIR)

# The real `sohoa serve` under wrk (tests/bench/bench_web.sh): a bench
# catalog of BENCH_WEB_PAGES pages in BENCH_WEB_DIR (made or reused by
# bench_search), officers logged in, 1/4/16/64 connections of
# BENCH_WEB_SECONDS each; searches/s, latency percentiles, errors and the
# server's CPU per search.  BENCH_WEB_PERF=1 adds a perf profile.
BENCH_WEB_PAGES   ?= 200000
BENCH_WEB_DIR     ?= /tmp/sohoa-bench-web
BENCH_WEB_SECONDS ?= 20
bench-web: deps
	$(MAKE) all $(BUILD)/bench_search
	SOHOA=$(SOHOA_BIN) BENCH_SEARCH=$(CURDIR)/$(BUILD)/bench_search \
	  BENCH_WEB_PAGES=$(BENCH_WEB_PAGES) BENCH_WEB_DIR=$(BENCH_WEB_DIR) \
	  BENCH_WEB_SECONDS=$(BENCH_WEB_SECONDS) bash tests/bench/bench_web.sh

samples: $(BUILD)/tools/mksample
	bash samples/make-samples.sh

clean:
	rm -rf build build-asan sohoa

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/pipeline/main.d

# ---- header fields (ocr/fields.c): accuracy on made, corpus and real pages --
.PHONY: eval-fields
eval-fields: $(BUILD)/libsohoa.a $(BUILD)/tools/mksample $(BUILD)/tools/mkheader
	$(LINK) -o $(BUILD)/tools/fields_cli tests/fields/fields_cli.c $(BUILD)/libsohoa.a $(LINK_LIBS)
	BUILD=$(BUILD) bash tests/fields/eval.sh $(EVAL_ARGS)

# ---- Vietnamese correction (ocr/vncorrect.c): what it changes on real scans --
$(BUILD)/tools/vncorrect_cli: tests/eval/vncorrect_cli.c $(BUILD)/libsohoa.a
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LINK_LIBS)

# ---- reading real scans: sohoa (each --model / option) vs tesseract alone --
.PHONY: eval-real
eval-real: all
	SOHOA=$(CURDIR)/$(BUILD)/sohoa python3 tests/eval/real.py $(EVAL_ARGS)

# ---- separator codes: zbar (used) vs ZXing-C++ read rates on degraded sheets --
.PHONY: bench-codes
bench-codes: $(BUILD)/sohoa $(BUILD)/libsohoa.a $(BUILD)/tools/mksample
	$(LINK) -o $(BUILD)/tools/zbar_read tests/bench/sepcodes/zbar_read.c $(BUILD)/libsohoa.a $(LINK_LIBS)
	g++ -O2 -std=c++17 $(PC_CFLAGS) -o $(BUILD)/tools/zxing_read tests/bench/sepcodes/zxing_read.cc -lZXing $(PC_LIBS)
	bash tests/bench/sepcodes/measure.sh $(OUT)
