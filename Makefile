# ipopd - GroupVPN for routers.
# make demo   a GroupVPN of routers in network namespaces (needs root)
# make test   vet, format check and every test (netns tests need root, as in CI)
# Both first install the Debian packages they need when a tool is missing
# (internal/testtools/deps.sh; DEPS_SKIP=1 skips that).

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/ipopd
# Packages off the data path, built without inlining to save flash and RSS;
# the same list as internal/buildflags (a test checks).
COLD_PKGS := github.com/pion/... github.com/ipopd/ipopd/ipopd github.com/ipopd/ipopd/internal/group github.com/ipopd/ipopd/internal/cbor github.com/ipopd/ipopd/internal/control github.com/ipopd/ipopd/internal/join github.com/ipopd/ipopd/internal/wire github.com/ipopd/ipopd/internal/nat github.com/ipopd/ipopd/ubus github.com/ipopd/ipopd/uci/... encoding/json encoding/gob encoding/asn1 encoding/pem crypto/x509/... math/big fmt reflect log/... vendor/golang.org/x/net/dns/... github.com/ipopd/ipopd/internal/underlay github.com/ipopd/ipopd/internal/addrwatch crypto/internal/fips140/nistec github.com/ipopd/ipopd/internal/dtlscookie crypto/tls crypto/ecdsa
GCFLAGS  := $(foreach p,$(COLD_PKGS),-gcflags=$(p)=-l)
PKGS     := ./...
# Packages whose hot paths run concurrently: also tested under -race.
RACE_PKGS := ./internal/transport/... ./internal/overlay/... ./internal/daemon/... ./internal/wire/... ./uci/...
FUZZTIME ?= 60s

.PHONY: all build deps-test deps-demo test test-short lint fmt-check vet fuzz fuzz-short bench chaos scale demo profile clean install uninstall

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' $(GCFLAGS) -o $(BIN) ./ipopd

# The tools of the one list in deps.sh: a missing one is installed (root)
# or named with the command to run (not root) before anything else runs.
deps-test:
	./internal/testtools/deps.sh test
deps-demo:
	./internal/testtools/deps.sh demo

test: deps-test fmt-check vet
	$(GO) test -count=1 -timeout 12m $(PKGS)
	$(GO) test -count=1 -race -timeout 8m $(RACE_PKGS)
	$(MAKE) fuzz-short

# Quick logic tests only (no root needed).
test-short:
	$(GO) test -short -count=1 $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint: fmt-check vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

# Every fuzz target, FUZZTIME each (default 60 s): run before calling a parser done.
fuzz:
	./internal/testtools/fuzz.sh $(FUZZTIME)

# Two seconds per target (45 targets), as part of make test; make fuzz runs each for FUZZTIME.
fuzz-short:
	./internal/testtools/fuzz.sh 2s

# Throughput, CPU per GB, RSS and per-frame benchmarks (needs root, iperf3).
# The end-to-end part compares ipopd with wireguard-go and nebula, which it
# installs with go install into BENCH_TOOLS (once per pinned version).
BENCH_TOOLS ?= $(CURDIR)/bin/bench-tools
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/transport/ ./internal/offload/ ./internal/overlay/ ./internal/daemon/
	$(MAKE) bench-mips
	IPOP_BENCH=1 IPOP_BENCH_TOOLS=$(BENCH_TOOLS) $(GO) test -count=1 -v -timeout 30m -run '^TestBench' ./internal/e2e/

# The chaos soak (needs root, iperf3, nft): ten minutes of faults under a
# 20 Hz ping and a TCP stream; prints a table per fault (docs/chaos.md).
# make test runs the two-minute version.
chaos:
	IPOP_CHAOS=long $(GO) test -count=1 -v -timeout 25m -run '^TestChaos$$' ./internal/e2e/

# Issue 11's figures at size: an in-process group of SCALE_MEMBERS members
# (netsim, no root) and a network-namespace lab of SCALE_ROUTERS routers
# (root), each printing a table (see docs/scale.md). SCALE_GOALS=all (or a
# comma list of goal names) makes the lab fail on missed goals.
SCALE_MEMBERS ?= 1000
SCALE_ROUTERS ?= 300
SCALE_GOALS   ?=
scale:
	IPOP_SCALE_MEMBERS=$(SCALE_MEMBERS) $(GO) test -count=1 -v -timeout 40m -run '^TestScaleInProcess$$' ./internal/daemon/
	IPOP_SCALE_ROUTERS=$(SCALE_ROUTERS) IPOP_SCALE_GOALS=$(SCALE_GOALS) $(GO) test -count=1 -v -timeout 40m -run '^TestScaleLab$$' ./internal/e2e/

demo: deps-demo build
	./internal/testtools/demo.sh $(BIN)

# CPU and allocation profiles of two daemons under iperf3 (needs root,
# iperf3). The binary has pprof built in (-tags profile), release ones not.
profile:
	CGO_ENABLED=0 $(GO) build -tags profile -trimpath $(GCFLAGS) -o bin/ipopd-profile ./ipopd
	./internal/testtools/profile.sh bin/ipopd-profile bin/profile

# Raspberry Pi OS / plain Linux: the same binary and UCI file as on OpenWRT,
# run by systemd. The config is not overwritten when it exists.
PREFIX  ?= /usr
DESTDIR ?=
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/ipopd
	install -d -m 0700 $(DESTDIR)/etc/ipop
	@if [ -e $(DESTDIR)/etc/config/ipop ]; then echo "keeping $(DESTDIR)/etc/config/ipop"; \
	else install -D -m 0600 openwrt/ipopd/files/ipop.config $(DESTDIR)/etc/config/ipop; fi
	install -D -m 0644 openwrt/ipopd/files/ipopd.service $(DESTDIR)/etc/systemd/system/ipopd.service
	install -D -m 0644 docs/config.md $(DESTDIR)$(PREFIX)/share/doc/ipopd/config.md
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null; then systemctl daemon-reload; \
	echo "enable with: systemctl enable --now ipopd"; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/ipopd $(DESTDIR)/etc/systemd/system/ipopd.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/ipopd
	@echo "kept /etc/config/ipop and /etc/ipop (group keys)"

clean:
	rm -rf bin dist
include arm-build/arm-build.mk
