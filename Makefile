# sohoa — scanner batches → searchable PDFs + Vietnamese full-text index.
#
#   make run     install missing packages (as root), build, process samples/, search
#   make test    the same set-up, then the whole test suite (also under ASan/UBSan)
#   make bench   speed figures (pages/min, per-stage time)
#   make deps    check libraries; as root install missing Debian packages

CC       ?= cc
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
DOCDIR   ?= $(PREFIX)/share/doc/sohoa
WAREHOUSE ?= warehouse

# pkg-config module → Debian package
PKGS := tesseract:libtesseract-dev lept:libleptonica-dev libtiff-4:libtiff-dev \
        libjpeg:libjpeg-dev libpng:libpng-dev sqlite3:libsqlite3-dev \
        jansson:libjansson-dev libsodium:libsodium-dev zlib:zlib1g-dev \
        libmicrohttpd:libmicrohttpd-dev libqpdf:libqpdf-dev jbig2dec:libjbig2dec0-dev \
        poppler-glib:libpoppler-glib-dev
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
        /usr/bin/npm:npm /usr/share/hunspell/vi_VN.dic:hunspell-vi
# The best-accuracy Vietnamese model (tessdata 4.0.0_best_int, the larger
# LSTM; sohoa run --model best, the default) from npm, pinned and checked;
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

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wvla -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) $(PC_CFLAGS) -MMD -MP \
           -DSH_DATADIR='"$(PREFIX)/share/sohoa"'
LDLIBS  += $(PC_LIBS) -lunistring -lm

BUILD   ?= build
ifdef SANITIZE
BUILD   := build-asan
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(filter-out $(EXCLUDE),$(wildcard base/*.c scanners/*.c ocr/*.c index/*.c web/*.c) $(filter-out pipeline/main.c,$(wildcard pipeline/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(filter-out $(EXCLUDE),$(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(wildcard samples/tools/*.c)

.PHONY: all deps model run test unit e2e asan bench bench-search clean install samples robust soak test-cluster
all: $(BUILD)/sohoa sohoa

sohoa: $(BUILD)/sohoa
	@[ "$(BUILD)" = build ] && ln -sf $(BUILD)/sohoa sohoa || true

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# the Vietnamese model is built into vnlm_blob.o (.incbin)
$(BUILD)/ocr/vnlm_blob.o: ocr/data/vnlm.bin

$(BUILD)/libsohoa.a: $(LIB_OBJ)
	rm -f $@; ar rcs $@ $^

$(BUILD)/sohoa: $(BUILD)/pipeline/main.o $(BUILD)/libsohoa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit: $(TEST_OBJ) $(BUILD)/libsohoa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tools/%: samples/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

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
	@$(MAKE) --no-print-directory model

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
test: deps
	$(MAKE) all $(BUILD)/unit
	$(MAKE) SANITIZE=1 build-asan/sohoa build-asan/unit
	@echo "== unit tests"; $(BUILD)/unit
	@echo "== unit tests under ASan/UBSan"; ASAN_OPTIONS=halt_on_error=1:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/unit
	@echo "== end-to-end"; SOHOA=$(CURDIR)/$(BUILD)/sohoa SOHOA_ASAN=$(CURDIR)/build-asan/sohoa bash tests/e2e.sh
	@echo "== archive: manifest, PDF/A, documents, export"; SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/export.sh
	@echo "== robustness"; SOHOA=$(CURDIR)/$(BUILD)/sohoa SOHOA_ASAN=$(CURDIR)/build-asan/sohoa bash tests/robust.sh
	@echo "== web"; SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/web.sh
	@echo "== browser"; SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/browser.sh
	@echo "== cluster"; SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/cluster.sh
	@echo "== cluster on Slurm"; SOHOA=$(CURDIR)/$(BUILD)/sohoa bash tests/cluster.sh slurm; rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]

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

unit: $(BUILD)/unit
	$(BUILD)/unit $(T)

bench: deps
	$(MAKE) all
	bash tests/bench.sh

$(BUILD)/bench_search: tests/bench/bench_search.c $(BUILD)/libsohoa.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench-search: deps
	$(MAKE) $(BUILD)/bench_search
	$(BUILD)/bench_search

samples: $(BUILD)/tools/mksample
	bash samples/make-samples.sh

clean:
	rm -rf build build-asan sohoa

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/pipeline/main.d

# ---- header fields (ocr/fields.c): accuracy on made, corpus and real pages --
.PHONY: eval-fields
eval-fields: $(BUILD)/libsohoa.a $(BUILD)/tools/mksample $(BUILD)/tools/mkheader
	$(CC) $(CFLAGS) -o $(BUILD)/tools/fields_cli tests/fields/fields_cli.c $(BUILD)/libsohoa.a $(LDFLAGS) $(LDLIBS)
	BUILD=$(BUILD) bash tests/fields/eval.sh $(EVAL_ARGS)

# ---- Vietnamese correction (ocr/vncorrect.c): what it changes on real scans --
$(BUILD)/tools/vncorrect_cli: tests/eval/vncorrect_cli.c $(BUILD)/libsohoa.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# ---- reading real scans: sohoa (each --model / option) vs tesseract alone --
.PHONY: eval-real
eval-real: all
	SOHOA=$(CURDIR)/$(BUILD)/sohoa python3 tests/eval/real.py $(EVAL_ARGS)
