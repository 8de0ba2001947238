# The two set-up commands of README.md.

GO ?= go

.PHONY: demo test build bench bench-all soak install deb deb-check verify-units

# The version and commit built into bmsched (bmsched version).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VPKG = github.com/bmsched/bmsched/internal/version
LDFLAGS = -X $(VPKG).version=$(VERSION) -X $(VPKG).commit=$(COMMIT)

# make install PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
# nfpm builds the Debian package; run with go run, it stays out of go.mod.
NFPM ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# A Debian version: a tag v1.2.3 gives 1.2.3, a commit after it
# (v1.2.3-4-gabc) 1.2.3+4+gabc, which sorts after it, and an untagged
# commit 0.0.0~git<commit>.
DEB_VERSION ?= $(shell echo '$(VERSION)' | sed -E 's/^v([0-9]+\.)/\1/; /^[0-9]+\./!s/^/0.0.0~git/; s/-/+/g')

# Rounds of the SIGKILL soak: make soak SOAK_ROUNDS=3
SOAK_ROUNDS ?= 5

# Build bmsched and run it on a sample volume that it lays out itself.
demo: build
	./bin/bmsched demo

# Vet and run every test (the btrfs ones need root and btrfs-progs).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

# The client bmsched, which every build worker starts, and the daemon
# bmschedd, which `bmsched serve` runs; they are installed side by side.
# The client leaves out urfave/cli's Markdown and man page rendering
# (CLIENT_TAGS): the Markdown library it imports costs every process
# half a millisecond of initialisation, and bmsched writes its manual
# page in roff itself.
CLIENT_TAGS = urfave_cli_no_docs
build:
	$(GO) build -tags '$(CLIENT_TAGS)' -ldflags '$(LDFLAGS)' -o bin/bmsched ./cmd/bmsched
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/bmschedd ./cmd/bmschedd

# The binaries, the systemd units (ExecStart naming the installed daemon),
# the man page, the shell completions, and the units' environment file
# (kept when it exists: it is the operator's).
install: build
	install -D -m 0755 bin/bmsched $(DESTDIR)$(PREFIX)/bin/bmsched
	install -D -m 0755 bin/bmschedd $(DESTDIR)$(PREFIX)/bin/bmschedd
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/bin/bmschedd|$(PREFIX)/bin/bmschedd|' contrib/systemd/bmsched.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/bmsched.service
	install -m 0644 contrib/systemd/bmsched.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/bmsched.socket
	bin/bmsched man $(DESTDIR)$(PREFIX)/share/man/man1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	bin/bmsched completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bmsched
	bin/bmsched completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_bmsched
	bin/bmsched completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/bmsched.fish
	test -e $(DESTDIR)$(SYSCONFDIR)/default/bmsched || install -D -m 0644 contrib/systemd/bmsched.env $(DESTDIR)$(SYSCONFDIR)/default/bmsched

# build/bmsched_<version>_amd64.deb, from what install lays out.
deb:
	rm -rf build/deb-root
	$(MAKE) install DESTDIR=$(CURDIR)/build/deb-root PREFIX=/usr
	DEB_VERSION='$(DEB_VERSION)' $(NFPM) package --config contrib/nfpm.yaml --packager deb --target build/

# The package holds both binaries, the units, the man page and the
# completions, and its binaries know their version.
deb-check: deb
	contrib/check-deb build/bmsched_$(DEB_VERSION)_amd64.deb '$(VERSION)'

# systemd-analyze verify of both units, on a copy whose ExecStart names
# the built daemon (verify needs it to exist) and with the man page the
# units name; any complaint fails.
verify-units: build
	rm -rf build/units && mkdir -p build/units/man/man1
	sed 's|/usr/bin/bmschedd|$(CURDIR)/bin/bmschedd|' contrib/systemd/bmsched.service > build/units/bmsched.service
	cp contrib/systemd/bmsched.socket build/units/
	bin/bmsched man build/units/man/man1
	MANPATH=$(CURDIR)/build/units/man systemd-analyze verify build/units/bmsched.service build/units/bmsched.socket > build/units/verify.log 2>&1; \
		rc=$$?; cat build/units/verify.log; test $$rc = 0 && test ! -s build/units/verify.log

# The farm benchmark's one table: bmsched against btrfs-progs at 4 and
# 1,000 machines, without and with the warm pool (about 15 minutes).
# BENCH=short is the form CI runs, to prove that it works, not to measure.
BENCH ?= full
BENCH_FLAGS_full =
BENCH_FLAGS_short = -farm.machines=4,40 -farm.live=40 -farm.many=200 -farm.cycles=10 -farm.sustain=3s
bench:
	$(GO) test -run '^$$' -bench '^BenchmarkFarm$$' -benchtime 1x -timeout 90m ./cmd/bmsched/ $(BENCH_FLAGS_$(BENCH))

# Every other benchmark, each with its own figures.
bench-all:
	$(GO) test -run '^$$' -bench . -benchtime 200x -timeout 60m ./...

# SIGKILL the daemon under 32 clients once a round, on a loop-mounted
# btrfs (root and btrfs-progs), and check the invariants after each round;
# the last round also removes the database before the restart.
soak:
	$(GO) test -count=1 -v -timeout 30m -run '^TestSoak$$' ./cmd/bmsched/ -soak.rounds=$(SOAK_ROUNDS)
