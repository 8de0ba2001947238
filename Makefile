# The two set-up commands of README.md.

GO ?= go

.PHONY: demo test build bench

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
