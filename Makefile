# The two set-up commands of README.md.

GO ?= go

.PHONY: demo test build bench soak

# Rounds of the SIGKILL soak: make soak SOAK_ROUNDS=3
SOAK_ROUNDS ?= 5

# Build bmsched and run it on a sample volume that it lays out itself.
demo: build
	./bin/bmsched demo

# Vet and run every test (the btrfs ones need root and btrfs-progs).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

build:
	$(GO) build -o bin/bmsched ./cmd/bmsched

bench:
	$(GO) test -run '^$$' -bench . -benchtime 200x ./...

# SIGKILL the daemon under 32 clients once a round, on a loop-mounted
# btrfs (root and btrfs-progs), and check the invariants after each round;
# the last round also removes the database before the restart.
soak:
	$(GO) test -count=1 -v -timeout 30m -run '^TestSoak$$' ./cmd/bmsched/ -soak.rounds=$(SOAK_ROUNDS)
