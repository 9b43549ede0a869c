# ngx_http_manta_module
#
#   make deps        install the Debian packages the build and tests need
#   make / build     build objs/ngx_http_manta_module.so against nginx-dev
#   make test        build, then run everything under t/ with prove
#   make check       the same tests, nothing installed or built but the unit
#                    tests (MANTA_MODULE=... names the module to test)
#   make run         the gateway on 127.0.0.1:8080 in front of a mock Manta
#   make install     the stripped module and its modules-available snippet
#                    (DESTDIR, MODULES_DIR, MODULES_AVAILABLE)
#   make deb         build/deb/libnginx-mod-http-manta_<version>_<arch>.deb
#   make test-deb    make deb, then install it, serve a request, purge it
#   make test-browser  the status page in headless chromium (t/status_browser.t)
#   make screenshot  docs/status.png, the status page with live traffic
#   make metrics     lines per file of src/, functions over 80 lines, the
#                    include graph checked for a cycle (tools/metrics.pl)
#   make clean

NGINX_SRC  ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
BUILD      ?= $(CURDIR)/build
NGX_BUILD   = $(BUILD)/nginx
MODULE      = $(NGX_BUILD)/objs/ngx_http_manta_module.so
MODULES_DIR ?= /usr/lib/nginx/modules
MODULES_AVAILABLE ?= /usr/share/nginx/modules-available
MANTA_MODULE ?= $(MODULE)
VERSION    := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)

CC         ?= cc
NGX_CC_OPT ?= -g -O2 -fstack-protector-strong -Wformat \
              -Werror=format-security -fPIC
NGX_LD_OPT ?= -Wl,-z,relro -Wl,-z,now -fPIC
CORE_CFLAGS = -std=gnu99 -O2 -g -Wall -Wextra -Werror -Isrc
CORE_LIBS   = -ljansson -lpcre2-8 -lutf8proc -lcrypto -lhiredis

CORE_SRCS   = $(wildcard src/manta_*.c)
CORE_HDRS   = $(wildcard src/manta_*.h)
GLUE_SRCS   = $(wildcard src/ngx_http_manta_*.c src/ngx_http_manta_*.h)
UNIT_SRCS   = $(wildcard t/unit/*.c)
UNIT        = $(BUILD)/unit/manta_unit

# the NFC quick-check table, generated from utf8proc's data (the module's
# build runs the same generator from config)
GEN         = $(BUILD)/gen
NFC_QC      = $(GEN)/manta_nfc_qc.h

DEB_PKGS    = nginx-core nginx-dev libjansson-dev libpcre2-dev libssl-dev \
              libutf8proc-dev openssl curl gcc make perl \
              python3-prometheus-client \
              libhiredis-dev redis-server

SHELL      := /bin/bash
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build deps test check unit run bench bench-core bench-profile \
        install install-files deb test-deb clean

all: build

build: $(MODULE)

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi

# nginx's configure writes into its own tree: configure a copy of it
$(NGX_BUILD)/objs/Makefile: config debian/changelog tools/gen_nfc_qc.c
	@test -x $(NGINX_SRC)/configure || { \
	    echo "no nginx source at $(NGINX_SRC): run 'make deps'" >&2; exit 1; }
	rm -rf $(NGX_BUILD) && mkdir -p $(BUILD)
	cp -a $(NGINX_SRC)/. $(NGX_BUILD)
	cd $(NGX_BUILD) && \
	    if [ -f conf_flags ]; then . ./conf_flags; fi; \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-compat \
	        --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) > configure.log 2>&1 \
	    || { cat configure.log >&2; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules

$(NFC_QC): tools/gen_nfc_qc.c
	@mkdir -p $(GEN)
	$(CC) -std=gnu99 -O2 -Wall -Wextra -o $(GEN)/gen_nfc_qc $< -lutf8proc
	$(GEN)/gen_nfc_qc > $@.tmp && mv $@.tmp $@

$(UNIT): $(CORE_SRCS) $(CORE_HDRS) $(UNIT_SRCS) $(wildcard t/unit/*.h) \
         $(NFC_QC)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -I$(GEN) -It/unit -o $@ $(CORE_SRCS) $(UNIT_SRCS) \
	    $(CORE_LIBS)

unit: $(UNIT)

test: deps build
	@$(MAKE) --no-print-directory check

check: unit
	MANTA_MODULE=$(MANTA_MODULE) MANTA_UNIT=$(UNIT) NGINX_BIN=$(NGINX) \
	    prove -r t/

# as Debian's module packages lay it out; run as root for the system's
# directories (never sudo by itself), or with DESTDIR for a staging tree

install: build
	@$(MAKE) --no-print-directory install-files

# the files alone, for the module MODULE names (t/install.t)

install-files:
	install -d $(DESTDIR)$(MODULES_DIR) $(DESTDIR)$(MODULES_AVAILABLE)
	install -m 644 $(MODULE) $(DESTDIR)$(MODULES_DIR)/
	strip --strip-unneeded $(DESTDIR)$(MODULES_DIR)/ngx_http_manta_module.so
	echo "load_module modules/ngx_http_manta_module.so;" \
	    > $(DESTDIR)$(MODULES_AVAILABLE)/mod-http-manta.conf
	chmod 644 $(DESTDIR)$(MODULES_AVAILABLE)/mod-http-manta.conf
	@echo
	@echo "installed $(DESTDIR)$(MODULES_DIR)/ngx_http_manta_module.so"
	@echo "enable it once, either way (loading it twice is an error):"
	@echo "  ln -s $(MODULES_AVAILABLE)/mod-http-manta.conf" \
	      "/etc/nginx/modules-enabled/50-mod-http-manta.conf"
	@echo "  or 'load_module modules/ngx_http_manta_module.so;' at the top" \
	      "of nginx.conf"

# the Debian package, built from a copy of the tracked files so that the
# source tree is left as it is; its build runs the test suite ("make
# check"): DEB_BUILD_OPTIONS=nocheck skips it

DEB_PKGS    = dpkg-dev debhelper lintian nginx-dev libjansson-dev \
              libpcre2-dev libssl-dev libutf8proc-dev openssl curl perl \
              python3-prometheus-client libhiredis-dev redis-server
DEB_DIR     = $(BUILD)/deb
DEB_SRC     = $(DEB_DIR)/libnginx-mod-http-manta-$(VERSION)
DEB_ARCH    = $(shell dpkg --print-architecture)
DEB         = $(DEB_DIR)/libnginx-mod-http-manta_$(VERSION)_$(DEB_ARCH).deb

deb: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS)"
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	git ls-files -z | xargs -0 cp --parents -t $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc > ../build.log 2>&1 \
	    || { tail -n 80 ../build.log; exit 1; }
	lintian --fail-on error $(DEB) | tee $(DEB_DIR)/lintian.log
	@echo "built $(DEB)"

test-deb: deb
	MANTA_DEB=$(DEB) NGINX_BIN=$(NGINX) prove t/package.t

clean:
	rm -rf $(BUILD)

.PHONY: metrics

metrics:
	@perl tools/metrics.pl src

# the status page in a real browser, and its screenshot for the README

BROWSER_PKGS = chromium

.PHONY: test-browser screenshot

test-browser: deps build
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BROWSER_PKGS)"
	MANTA_BROWSER=1 MANTA_MODULE=$(MODULE) NGINX_BIN=$(NGINX) \
	    prove t/status_browser.t

screenshot: deps build
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BROWSER_PKGS)"
	MANTA_BROWSER=1 MANTA_SCREENSHOT=$(CURDIR)/docs/status.png \
	MANTA_MODULE=$(MODULE) NGINX_BIN=$(NGINX) prove t/status_browser.t

run: deps build
	MANTA_MODULE=$(MODULE) NGINX_BIN=$(NGINX) t/lib/run.sh

# performance: every path side by side with its reference, instructions
# per request by path (callgrind), and the core
BENCH_PKGS  = wrk util-linux nghttp2-client
PROFILE_PKGS = valgrind nghttp2-client
BENCH_CORE  = $(BUILD)/bench/bench_core

bench: deps build
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"
	MANTA_MODULE=$(MODULE) NGINX_BIN=$(NGINX) perl t/bench/bench.pl

$(BENCH_CORE): t/bench/bench_core.c $(CORE_SRCS) $(CORE_HDRS) $(NFC_QC)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -I$(GEN) -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

bench-core: $(BENCH_CORE)
	$(BENCH_CORE)

bench-profile: deps build
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(PROFILE_PKGS)"
	MANTA_MODULE=$(MODULE) NGINX_BIN=$(NGINX) perl t/bench/profile.pl

# the limit zone with many bots: memory per bot (SCALE_ZONES=1m,4m) and
# CPU per request with SCALE_BOTS=1000,100000,1000000 bots in the zone

.PHONY: bench-scale

bench-scale: deps build
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"
	MANTA_MODULE=$(MODULE) NGINX_BIN=$(NGINX) perl t/bench/scale.pl

# fuzzing: libFuzzer drivers t/fuzz/fuzz_<name>.c, seeds in
# t/fuzz/corpus/<name>/; each runs FUZZ_SECONDS on a copy of its corpus in
# build/fuzz/corpus/<name> and any crash, leak or violated invariant fails
#
#   make fuzz FUZZ_SECONDS=10

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_PKGS     = clang libclang-rt-dev
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -Isrc
FUZZ_DIR      = $(BUILD)/fuzz
FUZZ_NAMES    = $(patsubst t/fuzz/fuzz_%.c,%,$(wildcard t/fuzz/fuzz_*.c))
FUZZ_BINS     = $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-deps

fuzz-deps: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(FUZZ_PKGS)"

$(FUZZ_DIR)/fuzz_%: t/fuzz/fuzz_%.c t/fuzz/fuzz.c t/fuzz/fuzz.h \
                    t/unit/b64url.c t/unit/b64url.h \
                    $(CORE_SRCS) $(CORE_HDRS) $(NFC_QC) | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(GEN) -o $@ $< t/fuzz/fuzz.c \
	    t/unit/b64url.c $(CORE_SRCS) $(CORE_LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes; \
	    cp t/fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus/$$t/; \
	    log=$(FUZZ_DIR)/fuzz_$$t.log; \
	    if ! $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	            -print_final_stats=1 \
	            -artifact_prefix=$(FUZZ_DIR)/crashes/$$t- \
	            $(FUZZ_DIR)/corpus/$$t > $$log 2>&1; then \
	        tail -n 60 $$log; \
	        echo "fuzz_$$t FAILED: see $$log and $(FUZZ_DIR)/crashes/"; \
	        exit 1; \
	    fi; \
	    echo "fuzz_$$t: $$(grep -h 'stat::number_of_executed_units' $$log \
	        | awk '{ print $$2 }') runs in $(FUZZ_SECONDS) s"; \
	done

# sanitizers: the whole suite with the module (and the unit tests) built
# with ASan and UBSan in build/asan, nginx run with their runtimes preloaded
# by t/lib/nginx-sanitized; or with nginx under valgrind's memcheck
# (t/lib/nginx-valgrind).  Manta::Test fails a test file on a report in its
# directory's sanitizer/ logs (leaks: only those with a module frame).
#
#   make test-asan
#   make test-valgrind

SAN_FLAGS       = -fsanitize=address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=undefined
ASAN_BUILD      = $(CURDIR)/build/asan
ASAN_PKGS       = gcc-12 libasan8 libubsan1
ASAN_SCALE     ?= 2
VALGRIND_PKGS   = valgrind
VALGRIND_SCALE ?= 10

.PHONY: test-asan test-valgrind

# -z nodelete: nginx dlclose()s the module when it frees its cycle at exit,
# before the leak check symbolizes the stacks; configure's test programs
# run without leak checking

test-asan: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(ASAN_PKGS)"
	ASAN_OPTIONS=detect_leaks=0 $(MAKE) --no-print-directory \
	    BUILD=$(ASAN_BUILD) \
	    NGX_CC_OPT="$(NGX_CC_OPT) $(SAN_FLAGS)" \
	    NGX_LD_OPT="$(NGX_LD_OPT) $(SAN_FLAGS) -Wl,-z,nodelete" \
	    CORE_CFLAGS="$(CORE_CFLAGS) $(SAN_FLAGS)" build unit
	MANTA_MODULE=$(ASAN_BUILD)/nginx/objs/ngx_http_manta_module.so \
	MANTA_UNIT=$(ASAN_BUILD)/unit/manta_unit \
	NGINX_BIN=$(CURDIR)/t/lib/nginx-sanitized NGINX_REAL=$(NGINX) \
	MANTA_TIMEOUT_SCALE=$(ASAN_SCALE) \
	    prove -r t/

test-valgrind: deps build unit
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(VALGRIND_PKGS)"
	MANTA_MODULE=$(MODULE) MANTA_UNIT=$(UNIT) \
	NGINX_BIN=$(CURDIR)/t/lib/nginx-valgrind NGINX_REAL=$(NGINX) \
	MANTA_VALGRIND=1 MANTA_TIMEOUT_SCALE=$(VALGRIND_SCALE) \
	    prove -r t/
