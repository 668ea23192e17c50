# leaderboard — build, run, test.
#
#   make            build everything into build/ (warnings are errors)
#   make run        start a private instance in the foreground (PORT=8080)
#   make test       unit + end-to-end suites, then again under ASan/UBSan
#   make bench      benchmarks (bench/), figures against an in-run baseline
#   make fuzz       longer libFuzzer runs (a short one is part of make test)
#   make check-length  no C function over 100 lines (scripts/check-length.allow)
#   make SANITIZE=address,undefined BUILD=build-asan   sanitizer build
#
# Sources are found by directory, so a new file needs no Makefile edit:
#   lib/*.c          -> build/liblb.a (linked into every program)
#   cgi-bin/api/*.c  -> build/lb-api.fcgi      cgi-bin/hook/*.c -> build/lb-hook.fcgi
#   bin/syncd/*.c    -> build/lb-syncd         bin/admin/*.c    -> build/lb-admin
#   tests/unit/test_*.c -> build/tests/test_*  (cmocka)
#   tests/fuzz/fuzz_*.c -> build-fuzz/fuzz_*   (libFuzzer, clang)

BUILD    ?= build
CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
PORT     ?= 8080
SANITIZE ?=
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKG_CFLAGS := $(shell mariadb_config --cflags 2>/dev/null) $(shell pkg-config --cflags libcurl 2>/dev/null)
PKG_LIBS   := -lfcgi -lyajl -lcurl -lcrypto -lz $(shell mariadb_config --libs 2>/dev/null || echo -lmariadb)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wmissing-prototypes -Wvla -Wshadow \
           -Wformat=2 -Wno-format-nonliteral -fno-common -D_FORTIFY_SOURCE=2
CPPFLAGS += -Ilib $(PKG_CFLAGS) -DLB_VERSION='"$(VERSION)"' -MMD -MP
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC   := $(wildcard lib/*.c)
API_SRC   := $(wildcard cgi-bin/api/*.c)
HOOK_SRC  := $(wildcard cgi-bin/hook/*.c)
SYNCD_SRC := $(wildcard bin/syncd/*.c)
ADMIN_SRC := $(wildcard bin/admin/*.c)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
HELP_SRC  := $(wildcard tests/helpers/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB      := $(BUILD)/liblb.a
PROGRAMS := $(BUILD)/lb-api.fcgi $(BUILD)/lb-hook.fcgi $(BUILD)/lb-syncd $(BUILD)/lb-admin
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
HELPERS  := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELP_SRC))

.PHONY: all clean run test test-unit bench fuzz deps install uninstall check-banned check-length
all: $(PROGRAMS) $(HELPERS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
	@rm -f $@
	@echo "  AR      $@"
	@$(AR) rcs $@ $^

$(BUILD)/lb-api.fcgi: $(call obj,$(API_SRC)) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/lb-hook.fcgi: $(call obj,$(HOOK_SRC)) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/lb-syncd: $(call obj,$(SYNCD_SRC)) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/lb-admin: $(call obj,$(ADMIN_SRC)) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

test-unit: $(TESTS)

deps:
	@scripts/deps

run: deps all
	@PORT=$(PORT) scripts/stack run var --port $(PORT)

test: deps
	@scripts/test

bench: deps all
	@scripts/bench

fuzz:
	@scripts/fuzz $(FUZZ_SECONDS)

check-banned:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)\s*\(' lib/*.[ch] cgi-bin/*/*.c bin/*/*.c || \
	  { echo "banned function used (see docs/ARCHITECTURE.md)"; exit 1; }

# no function over 100 lines but those scripts/check-length.allow names
check-length:
	@scripts/check-length

# ---------------------------------------------------------------------------
# make install PREFIX=/usr/local DESTDIR=   (docs/OPERATIONS.md "Install")
#   $(PREFIX)/bin/lb-admin                        the admin CLI
#   $(PREFIX)/sbin/lb-api.fcgi lb-hook.fcgi lb-syncd   the services
#   $(PREFIX)/share/leaderboard/{htdocs,sql,conf}  dashboard, migrations, examples
#   $(PREFIX)/lib/systemd/system/lb-*              units (paths follow PREFIX)
#   $(PREFIX)/lib/sysusers.d, tmpfiles.d           user 'leaderboard', spool dir
#   /etc/leaderboard/leaderboard.conf              mode 0640, only when absent:
#                                                  an upgrade never overwrites it (and
#                                                  warns when group may write or others
#                                                  may read it: it holds the secrets)
# lb-admin finds the migrations at ../share/leaderboard/sql next to itself, so
# a DESTDIR tree works as it is. Nothing here starts, stops or enables a
# service: the guide says which systemctl commands to run.
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
DATADIR     ?= $(PREFIX)/share/leaderboard
DOCDIR      ?= $(PREFIX)/share/doc/leaderboard
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
CONFDIR     ?= /etc/leaderboard
UNITS       := lb-api.socket lb-api.service lb-hook.socket lb-hook.service lb-syncd.service
# shipped files name /usr/local; rewritten for another PREFIX
SUBST_PREFIX = sed -e 's|/usr/local/|$(PREFIX)/|g'

install: $(PROGRAMS)
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/sql \
	  $(DESTDIR)$(DATADIR)/conf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(BUILD)/lb-admin $(DESTDIR)$(BINDIR)/lb-admin
	install -m 0755 $(BUILD)/lb-api.fcgi $(BUILD)/lb-hook.fcgi $(BUILD)/lb-syncd $(DESTDIR)$(SBINDIR)/
	install -m 0644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	rm -rf $(DESTDIR)$(DATADIR)/htdocs
	cp -R htdocs $(DESTDIR)$(DATADIR)/htdocs
	chmod -R u=rwX,go=rX $(DESTDIR)$(DATADIR)/htdocs
	install -m 0644 conf/leaderboard.conf.example $(DESTDIR)$(DATADIR)/conf/
	$(SUBST_PREFIX) conf/nginx-site.conf > $(DESTDIR)$(DATADIR)/conf/nginx-site.conf
	chmod 0644 $(DESTDIR)$(DATADIR)/conf/nginx-site.conf
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	for u in $(UNITS); do \
	  $(SUBST_PREFIX) conf/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 conf/systemd/leaderboard.sysusers $(DESTDIR)$(SYSUSERSDIR)/leaderboard.conf
	install -m 0644 conf/systemd/leaderboard.tmpfiles $(DESTDIR)$(TMPFILESDIR)/leaderboard.conf
	@if [ -e $(DESTDIR)$(CONFDIR)/leaderboard.conf ]; then \
	  echo "kept $(DESTDIR)$(CONFDIR)/leaderboard.conf (new example: $(DATADIR)/conf/leaderboard.conf.example)"; \
	  if [ -n "$$(find $(DESTDIR)$(CONFDIR)/leaderboard.conf -maxdepth 0 -perm /0027)" ]; then \
	    echo "warning: $(DESTDIR)$(CONFDIR)/leaderboard.conf holds secrets but is mode" \
	      "$$(stat -c %a $(DESTDIR)$(CONFDIR)/leaderboard.conf): chmod 0640 it" >&2; fi; \
	else \
	  install -m 0640 conf/leaderboard.conf.example $(DESTDIR)$(CONFDIR)/leaderboard.conf && \
	  echo "installed $(DESTDIR)$(CONFDIR)/leaderboard.conf (mode 0640): edit it"; \
	  if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && getent group leaderboard >/dev/null; then \
	    chgrp leaderboard $(CONFDIR)/leaderboard.conf; fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lb-admin $(DESTDIR)$(SBINDIR)/lb-api.fcgi \
	  $(DESTDIR)$(SBINDIR)/lb-hook.fcgi $(DESTDIR)$(SBINDIR)/lb-syncd
	for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	rm -f $(DESTDIR)$(SYSUSERSDIR)/leaderboard.conf $(DESTDIR)$(TMPFILESDIR)/leaderboard.conf
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	@echo "kept $(DESTDIR)$(CONFDIR)/leaderboard.conf, the spool, the database and the user 'leaderboard'"

clean:
	rm -rf build build-asan build-fuzz

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/obj/*/*/*/*.d)
