# iotpro_exporter build rules. Normally driven by ./build.sh; usable directly:
#   make release            static musl binary   build/release/bin/iotpro_exporter
#   make host               glibc build of libs, tests, simulator and tools
#   make asan               the same under ASan+UBSan (clang)
#   make fuzz               libFuzzer targets (clang)
#   make tsan               ThreadSanitizer (clang): exporter and the unit tests that start threads
#   make arm64 armv7        the release build, the unit tests and the core benchmark for
#                           64-bit ARM and ARMv7 (hard float), static musl, cross-compiled
#   make cdb                $(BUILD)/compile_commands.json for editors and the analyzers
#
# Layout rules that the globs below rely on (add a file, it is built):
#   core/*.c, transport/*.c      -> libcore.a, libtransport.a
#   exporter/*.c minus main.c    -> libexporter.a; exporter/main.c -> iotpro_exporter
#   tests/unit/test_*.c          -> one unit-test program each
#   tests/sim/*.c                -> the iotpro-sim program
#   tests/fuzz/fuzz_*.c          -> one libFuzzer target each
#   tests/{conformance,tls,e2e,bench}/*.c -> one helper program each (named after the file)

V ?= 0
BUILD ?= build
Q := $(if $(filter 1,$(V)),,@)

BEARSSL  := vendor/bearssl
CIVETWEB := vendor/civetweb
JSMN     := vendor/jsmn

# --version and iotpro_exporter_build_info: the release number from VERSION, the exact
# source from git describe (a tag, commits since it and the hash; -dirty for local edits).
# Both may be set on the command line (./build.sh dist does, for a build outside git).
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

# Our code: strict. Third-party code: compiled with the same compiler and hardening,
# warnings not ours to fix.
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
COMMON    := -std=c11 -D_GNU_SOURCE -fstack-protector-strong -g
VERSION_DEFS := -DIOTPRO_VERSION='"$(VERSION)"' -DIOTPRO_REVISION='"$(REVISION)"'
INCLUDES  := -I. -I$(BEARSSL)/inc -I$(JSMN) -I$(CIVETWEB)/include
# civetweb with only what we use: no file serving, CGI, TLS, Lua, Duktape or WebSocket server.
CIVET_DEFS := -DNO_SSL -DNO_CGI -DNO_FILES -DNO_CACHING \
              -DUSE_IPV6 -DMG_EXPERIMENTAL_INTERFACES \
              -DSOCKET_TIMEOUT_QUANTUM=200 -DSTOP_FLAG_NEEDS_LOCK -DUSE_X_DOM_SOCKET \
              -DBUILD_DATE='"none"' -DREENTRANT_TIME
# REENTRANT_TIME: civetweb formats the Date header with gmtime_r, not gmtime, whose one
# static buffer every worker thread wrote at once (a data race ThreadSanitizer reported
# under 20 concurrent scrapers).
# USE_X_DOM_SOCKET: listening_ports "x/path" is a Unix socket, which the HTTPS front
# (transport/tls_front.c) relays to.
# STOP_FLAG_NEEDS_LOCK: civetweb's stop flag becomes an atomic read/write instead of a
# plain volatile int that mg_stop() writes while every civetweb thread reads it (a data
# race in C11, reported by ThreadSanitizer); it is read once per poll slice, so the cost
# is nil. SOCKET_TIMEOUT_QUANTUM: civetweb's poll slice; at its default mg_stop() took 2-3.7 s,
# past the 2 s graceful-stop budget. BUILD_DATE replaces __DATE__ in civetweb's system
# info, which would make every build differ. MG_EXPERIMENTAL_INTERFACES changes struct
# mg_callbacks, so exporter/web.c defines it too: keep the two in step.
THIRD_WARN := -w
# BearSSL reads 32/64-bit words through misaligned pointers on x86 unless told not to:
# undefined behaviour that UBSan stops on (ChaCha20-Poly1305 records, found by the HTTPS
# tests). Byte-wise decoding costs nothing measurable: compilers merge it into one load.
BEARSSL_DEFS := -DBR_LE_UNALIGNED=0 -DBR_BE_UNALIGNED=0

# --- per-configuration compilers and flags -------------------------------------------
# The shipped binaries (release = amd64, arm64, armv7) are built from the same flags by
# musl's gcc wrappers (Debian's musl-dev for each architecture ships one). They must be
# reproducible: no build directory in the objects, no timestamps, deterministic archives.
SHIP_CFLAGS     := -O2 -ffunction-sections -fdata-sections -ffile-prefix-map=$(CURDIR)=.
SHIP_LDFLAGS    := -static -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,--build-id=none -pthread

release_CC      := musl-gcc
release_CFLAGS  := $(SHIP_CFLAGS)
release_LDFLAGS := $(SHIP_LDFLAGS)

# BearSSL picks its implementations from the target: on both ARM targets (no AES or
# carry-less multiply instructions it can use) the constant-time aes_ct64/ghash_ctmul64
# (arm64) and aes_ct/ghash_ctmul (armv7) are chosen; tests/unit/test_tls_impl.c asserts it.
arm64_CC        := aarch64-linux-musl-gcc
arm64_CFLAGS    := $(SHIP_CFLAGS)
arm64_LDFLAGS   := $(SHIP_LDFLAGS)

# Debian's armhf compiler defaults to ARMv7-A, Thumb-2, VFPv3-D16, hard-float ABI.
armv7_CC        := arm-linux-musleabihf-gcc
armv7_CFLAGS    := $(SHIP_CFLAGS)
armv7_LDFLAGS   := $(SHIP_LDFLAGS)

host_CC         := gcc
host_CFLAGS     := -O2 -D_FORTIFY_SOURCE=2 -fPIE
host_LDFLAGS    := -pie -Wl,-z,relro,-z,now -pthread

asan_CC         := clang
asan_CFLAGS     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                   -fno-sanitize-recover=undefined
asan_LDFLAGS    := -fsanitize=address,undefined -pthread

fuzz_CC         := clang
fuzz_CFLAGS     := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                   -fno-sanitize-recover=undefined -DIOTPRO_FUZZING
fuzz_LDFLAGS    := -fsanitize=fuzzer,address,undefined -pthread

# ThreadSanitizer: the exporter (tests/e2e/t_tsan_ingest.sh) and the unit tests that start
# threads (TSAN_UNIT_NAMES below), run by tests/run.sh with tests/tsan.supp.
tsan_CC         := clang
tsan_CFLAGS     := -O1 -fno-omit-frame-pointer -fsanitize=thread
tsan_LDFLAGS    := -fsanitize=thread -pthread

# --- sources -------------------------------------------------------------------------
BEARSSL_SRC   := $(sort $(wildcard $(BEARSSL)/src/*.c $(BEARSSL)/src/*/*.c))
CIVETWEB_SRC  := $(CIVETWEB)/src/civetweb.c
CORE_SRC      := $(sort $(wildcard core/*.c))
TRANSPORT_SRC := $(sort $(wildcard transport/*.c))
EXPORTER_SRC  := $(sort $(filter-out exporter/main.c,$(wildcard exporter/*.c)))
UNIT_SRC      := $(sort $(wildcard tests/unit/test_*.c))
SIM_SRC       := $(sort $(wildcard tests/sim/*.c))
FUZZ_SRC      := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TOOL_SRC      := $(sort $(wildcard tests/conformance/*.c tests/tls/*.c tests/e2e/*.c tests/bench/*.c))

# $(call objs,config,sources)
objs = $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(2))

# $(call write_if_changed,FILE,VARIABLE-NAME): FILE holds the variable's text, and is
# rewritten (so newer than what depends on it) only when that text changes.
write_if_changed = printf '%s\n' '$(subst ','\'',$($(2)))' | cmp -s - $(1) || \
                   printf '%s\n' '$(subst ','\'',$($(2)))' >$(1)

# Make does not see flags change: every object of a configuration depends on a stamp
# of that configuration's flags. The version is left out (a commit would rebuild all).
define CONFIG
$(1)_FLAGS_TEXT := $$($(1)_CC) $(COMMON) $$($(1)_CFLAGS) $$($(1)_LDFLAGS) $(WARN) $(INCLUDES) \
                   $(CIVET_DEFS) $(BEARSSL_DEFS)
$(BUILD)/$(1)/flags.stamp: FORCE
	@mkdir -p $$(@D)
	@$$(call write_if_changed,$$@,$(1)_FLAGS_TEXT)
$(call objs,$(1),$(BEARSSL_SRC) $(CIVETWEB_SRC) $(CORE_SRC) $(TRANSPORT_SRC) $(EXPORTER_SRC) \
      exporter/main.c $(UNIT_SRC) $(SIM_SRC) $(TOOL_SRC) $(FUZZ_SRC)): $(BUILD)/$(1)/flags.stamp

$(1)_LIBS := $(BUILD)/$(1)/lib/libexporter.a $(BUILD)/$(1)/lib/libtransport.a \
             $(BUILD)/$(1)/lib/libcore.a $(BUILD)/$(1)/lib/libcivetweb.a $(BUILD)/$(1)/lib/libbearssl.a

$(BUILD)/$(1)/obj/$(BEARSSL)/%.o: $(BEARSSL)/%.c
	@mkdir -p $$(@D)
	$(Q)$$($(1)_CC) $(COMMON) $$($(1)_CFLAGS) $(THIRD_WARN) $(BEARSSL_DEFS) -I$(BEARSSL)/inc -I$(BEARSSL)/src -c $$< -o $$@

$(BUILD)/$(1)/obj/$(CIVETWEB)/%.o: $(CIVETWEB)/%.c
	@mkdir -p $$(@D)
	$(Q)$$($(1)_CC) $(COMMON) $$($(1)_CFLAGS) $(THIRD_WARN) $(CIVET_DEFS) -I$(CIVETWEB)/include -c $$< -o $$@

$(BUILD)/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	@echo "  CC [$(1)] $$<"
	$(Q)$$($(1)_CC) $(COMMON) $(VERSION_DEFS) $$($(1)_CFLAGS) $(WARN) $(INCLUDES) -MMD -MP -c $$< -o $$@

$(BUILD)/$(1)/lib/libbearssl.a: $(call objs,$(1),$(BEARSSL_SRC))
$(BUILD)/$(1)/lib/libcivetweb.a: $(call objs,$(1),$(CIVETWEB_SRC))
$(BUILD)/$(1)/lib/libcore.a: $(call objs,$(1),$(CORE_SRC))
$(BUILD)/$(1)/lib/libtransport.a: $(call objs,$(1),$(TRANSPORT_SRC))
$(BUILD)/$(1)/lib/libexporter.a: $(call objs,$(1),$(EXPORTER_SRC))
$(BUILD)/$(1)/lib/%.a:
	@mkdir -p $$(@D)
	$(Q)rm -f $$@ && ar rcs $$@ $$^

$(BUILD)/$(1)/bin/iotpro_exporter: $(BUILD)/$(1)/obj/exporter/main.o $$($(1)_LIBS)
	@mkdir -p $$(@D)
	@echo "  LD [$(1)] $$@"
	$(Q)$$($(1)_CC) $$< $$($(1)_LIBS) $$($(1)_LDFLAGS) -o $$@

$(BUILD)/$(1)/bin/iotpro-sim: $(call objs,$(1),$(SIM_SRC)) $$($(1)_LIBS)
	@mkdir -p $$(@D)
	@echo "  LD [$(1)] $$@"
	$(Q)$$($(1)_CC) $(call objs,$(1),$(SIM_SRC)) $$($(1)_LIBS) $$($(1)_LDFLAGS) -o $$@

$(BUILD)/$(1)/bin/%: $(BUILD)/$(1)/obj/tests/unit/%.o $$($(1)_LIBS)
	@mkdir -p $$(@D)
	$(Q)$$($(1)_CC) $$< $$($(1)_LIBS) $$($(1)_LDFLAGS) -o $$@

-include $$(wildcard $(BUILD)/$(1)/obj/core/*.d $(BUILD)/$(1)/obj/transport/*.d $(BUILD)/$(1)/obj/exporter/*.d $(BUILD)/$(1)/obj/tests/*/*.d)
endef

$(foreach c,release arm64 armv7 host asan fuzz tsan,$(eval $(call CONFIG,$(c))))

# Only the files that use the version macros are rebuilt when the version or the
# revision changes; the stamp is rewritten only when its content differs.
VERSION_USERS := $(shell grep -l 'IOTPRO_VERSION\|IOTPRO_REVISION' core/*.c transport/*.c exporter/*.c 2>/dev/null)
VERSION_TEXT := $(VERSION) $(REVISION)
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(@D)
	@$(call write_if_changed,$@,VERSION_TEXT)
$(foreach c,release arm64 armv7 host asan fuzz tsan,$(call objs,$(c),$(VERSION_USERS))): $(BUILD)/version.stamp

# Helper programs (one file each) for the host and asan configurations.
define TOOL
$(BUILD)/$(1)/bin/$(basename $(notdir $(2))): $(BUILD)/$(1)/obj/$(basename $(2)).o $$($(1)_LIBS)
	@mkdir -p $$(@D)
	$(Q)$$($(1)_CC) $$< $$($(1)_LIBS) $$($(1)_LDFLAGS) -o $$@
endef
$(foreach t,$(TOOL_SRC),$(foreach c,host asan arm64 armv7,$(eval $(call TOOL,$(c),$(t)))))

# libFuzzer targets.
define FUZZ
$(BUILD)/fuzz/bin/$(basename $(notdir $(1))): $(BUILD)/fuzz/obj/$(basename $(1)).o $$(fuzz_LIBS)
	@mkdir -p $$(@D)
	$(Q)$$(fuzz_CC) $$< $$(fuzz_LIBS) $$(fuzz_LDFLAGS) -o $$@
endef
$(foreach f,$(FUZZ_SRC),$(eval $(call FUZZ,$(f))))

UNIT_NAMES := $(basename $(notdir $(UNIT_SRC)))
TOOL_NAMES := $(basename $(notdir $(TOOL_SRC)))
FUZZ_NAMES := $(basename $(notdir $(FUZZ_SRC)))
# Unit tests that run code on more than one thread: those are worth a TSan build.
TSAN_UNIT_NAMES := $(basename $(notdir $(shell grep -lE 'pthread_create|web_start' $(UNIT_SRC))))

.PHONY: release arm64 armv7 host asan fuzz tsan dynamic cdb print-version clean FORCE
release: $(BUILD)/release/bin/iotpro_exporter
ARM_TESTS := $(UNIT_NAMES) $(filter bench_core_ingest,$(TOOL_NAMES))
arm64: $(BUILD)/arm64/bin/iotpro_exporter $(addprefix $(BUILD)/arm64/bin/,$(ARM_TESTS))
armv7: $(BUILD)/armv7/bin/iotpro_exporter $(addprefix $(BUILD)/armv7/bin/,$(ARM_TESTS))
dynamic: $(BUILD)/host/bin/iotpro_exporter
host: $(BUILD)/host/bin/iotpro_exporter $(if $(SIM_SRC),$(BUILD)/host/bin/iotpro-sim) \
      $(addprefix $(BUILD)/host/bin/,$(UNIT_NAMES) $(TOOL_NAMES))
asan: $(BUILD)/asan/bin/iotpro_exporter $(if $(SIM_SRC),$(BUILD)/asan/bin/iotpro-sim) \
      $(addprefix $(BUILD)/asan/bin/,$(UNIT_NAMES) $(TOOL_NAMES))
fuzz: $(addprefix $(BUILD)/fuzz/bin/,$(FUZZ_NAMES))
tsan: $(BUILD)/tsan/bin/iotpro_exporter $(addprefix $(BUILD)/tsan/bin/,$(TSAN_UNIT_NAMES))

# compile_commands.json: every file of ours with the host configuration's command line
# (fuzz targets with IOTPRO_FUZZING) as an argument list, so that no consumer has to undo
# shell quoting; rewritten only when it changes.
CDB_SRC := $(CORE_SRC) $(TRANSPORT_SRC) $(EXPORTER_SRC) exporter/main.c $(UNIT_SRC) \
           $(SIM_SRC) $(TOOL_SRC) $(FUZZ_SRC)
comma := ,
empty :=
space := $(empty) $(empty)
# each word of the command as a JSON string: shell quotes dropped, '"' escaped
CDB_ARGS := $(subst $(space),$(comma)$(space),$(patsubst %,"%",$(subst ",\",$(subst ',,\
            $(host_CC) $(COMMON) $(VERSION_DEFS) $(host_CFLAGS) $(WARN) $(INCLUDES)))))
cdb: $(BUILD)/compile_commands.json
$(BUILD)/compile_commands.json: FORCE
	@mkdir -p $(@D)
	@{ echo '['; sep=' '; for f in $(CDB_SRC); do \
	     case $$f in tests/fuzz/*) x='"-DIOTPRO_FUZZING", ' ;; *) x= ;; esac; \
	     printf '%s{"directory": "%s", "file": "%s", "arguments": [%s, %s"-c", "%s", "-o", "%s"]}\n' \
	         "$$sep" "$(CURDIR)" "$$f" '$(CDB_ARGS)' "$$x" "$$f" "$(BUILD)/host/obj/$${f%.c}.o"; \
	     sep=','; done; echo ']'; } > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

print-version:
	@echo '$(VERSION) $(REVISION)'
clean:
	rm -rf build

.DELETE_ON_ERROR:
.SECONDARY:
