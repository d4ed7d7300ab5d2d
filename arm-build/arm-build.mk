# arm-build: cross builds, OpenWrt packages, the size budget and qemu-user
# smoke tests (included from the top-level Makefile; see arm-build/README.md).
#   make cross      ipopd for every router architecture -> dist/bin/ARCH/ipopd
#   make packages   .ipk + .apk feeds per architecture  -> dist/ARCH/
#                   .deb for amd64, arm64, armhf + apt repo -> dist/deb/
#   make size       sizes, largest Go packages; fails over the mipsel budget
#   make smoke      run every binary under qemu-user (needs qemu-user-static)
#   make bench-mips the AEADs' cost on mipsle, mips and arm in instructions under qemu-user

DIST              ?= dist
PKG_TOOL          := $(GO) run ./arm-build/cmd/ipopd-pkg
PKG_RELEASE       ?= 1
PKG_LICENSE       ?= MIT
PKG_MAINTAINER    ?= ipopd developers
PKG_URL           ?= https://github.com/ipopd/ipopd
# Debian wants an address in Maintainer (policy 5.6.2).
DEB_MAINTAINER    ?= ipopd developers <ipopd@users.noreply.github.com>
# File times in the packages: the commit's, so rebuilding gives the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Orders untagged builds (0_gitN); see PackageVersion in arm-build/pack.
GIT_COMMITS       ?= $(shell git rev-list --count HEAD 2>/dev/null || echo 0)

.PHONY: cross packages size smoke bench-mips

cross:
	$(PKG_TOOL) cross -version '$(VERSION)' -out $(DIST)/bin

packages: cross
	$(PKG_TOOL) packages -version '$(VERSION)' -commits $(GIT_COMMITS) -release $(PKG_RELEASE) \
		-mtime $(SOURCE_DATE_EPOCH) -license '$(PKG_LICENSE)' -maintainer '$(PKG_MAINTAINER)' -url '$(PKG_URL)' \
		-deb-maintainer '$(DEB_MAINTAINER)' -bin $(DIST)/bin -out $(DIST)

size: packages
	$(PKG_TOOL) cross -arch mipsel_24kc -unstripped -version '$(VERSION)' -out $(DIST)/size
	$(PKG_TOOL) size -dist $(DIST) -unstripped $(DIST)/size/mipsel_24kc/ipopd

smoke: cross
	IPOPD_SMOKE_BIN='$(CURDIR)/$(DIST)/bin' IPOPD_SMOKE_VERSION='$(VERSION)' \
		$(GO) test -count=1 -v -run '^TestSmoke' ./arm-build/cross/

# Instructions per record of AES-128-GCM and both ChaCha20-Poly1305
# implementations (x/crypto, internal/chachapoly) on mipsle, mips and arm,
# and which the daemon picks there (arm-build/aeadcount.sh,
# docs/router-cpus.md).
bench-mips:
	GO='$(GO)' sh ./arm-build/aeadcount.sh
