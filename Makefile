# 码上办 backend. `make run` starts a server on 127.0.0.1:8080 with data in ./data;
# `make test` runs the whole test suite, then schema fuzzing (schemathesis, from PyPI)
# against a live server. Both install missing Debian packages first when run as root, or
# print the exact install line and stop.
SHELL := /bin/bash
RUN_PACKAGES  := libssl-dev libsqlite3-dev libqrencode-dev libpng-dev pkg-config
TEST_PACKAGES := $(RUN_PACKAGES) zbar-tools openssl curl wrk
BENCH_PACKAGES := $(RUN_PACKAGES) wrk

.PHONY: run test bench fuzz tsan build docs deps-run deps-test clean

run: deps-run
	swift build -c release --product mashangban
	.build/release/mashangban serve --data ./data --host 127.0.0.1 --port 8080 --demo

test: deps-test
	swift test
	MSB_BIN=.build/debug/mashangban scripts/schema-fuzz.sh 10

# Throughput figures on this machine (release build); prints a table, asserts nothing.
# Single requests are sent by wrk in its own process; 10,000 of each (a scan phase of about
# two seconds: the CLI's default of 3,000 is over in half a second, warm-up included).
bench:
	@scripts/ensure-packages.sh $(BENCH_PACKAGES)
	swift build -c release --product mashangban
	swift build -c release --product mashangban-bench
	.build/release/mashangban-bench --crypto intl --flows 10000
	.build/release/mashangban-bench --crypto gm --flows 10000

# libFuzzer on the JWS parser, the NDJSON line decoder and the identity validators,
# FUZZ_SECONDS each (a separate build with -sanitize=fuzzer,address in .build/fuzz).
FUZZ_SECONDS ?= 60
fuzz: deps-run
	swift build --product mashangban-fuzz --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
	  -Xcc -DMSB_FUZZING
	for target in jws ndjson identity; do \
	  mkdir -p .build/fuzz/corpus/$$target && \
	  MSB_FUZZ_TARGET=$$target .build/fuzz/debug/mashangban-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -print_final_stats=1 .build/fuzz/corpus/$$target scripts/fuzz-seeds/$$target || exit 1; \
	done

# The test suite under the thread sanitizer (a separate build in .build/tsan), with the
# few known reports that are not races in our code suppressed (scripts/tsan-suppressions.txt).
tsan: deps-test
	TSAN_OPTIONS="suppressions=$(CURDIR)/scripts/tsan-suppressions.txt $$TSAN_OPTIONS" \
	  swift test --sanitize=thread --scratch-path .build/tsan

build: deps-run
	swift build

# Generated files: docs/errors.md from the problem-code catalogue, and
# Sources/MaShangBan/Storage/schema.sql from the migrations. Tests fail while they differ.
docs: deps-test
	MSB_WRITE_DOCS=1 swift test --filter 'ErrorCatalogueTests|SchemaSnapshotTests'

deps-run:
	@scripts/ensure-packages.sh $(RUN_PACKAGES)

deps-test:
	@scripts/ensure-packages.sh $(TEST_PACKAGES)
	@python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'

clean:
	rm -rf .build
