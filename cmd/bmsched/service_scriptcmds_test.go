package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/api"
)

func init() {
	scriptCmds["health"] = cmdHealth
}

// health: GET /v1/health on $SOCK, the answer on stdout for json.
func cmdHealth(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: health")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := api.NewClientTimeout(ts.Getenv("SOCK"), 10*time.Second).Health(ctx)
	ts.Check(err)
	ts.Check(json.NewEncoder(ts.Stdout()).Encode(h))
}
