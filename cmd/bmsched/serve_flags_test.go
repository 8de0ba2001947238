package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestServeFlagsFromEnv: every serve flag can be set by an
// EnvironmentFile= line, BMSCHED_ and the flag's name.
func TestServeFlagsFromEnv(t *testing.T) {
	for _, f := range serveCommand().Flags {
		name := f.Names()[0]
		want := "BMSCHED_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		env := f.(cli.DocGenerationFlag).GetEnvVars()
		if len(env) != 1 || env[0] != want {
			t.Errorf("serve --%s is read from %v, want [%s]", name, env, want)
		}
	}
}

func TestServeLogFormat(t *testing.T) {
	if _, err := serveLog("json", "debug"); err != nil {
		t.Error(err)
	}
	if _, err := serveLog("xml", "info"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "use text or json") {
		t.Errorf("--log-format xml: %v, want a usage error that names the choices", err)
	}
	if _, err := serveLog("text", "loud"); err == nil || exitCode(err) != 2 {
		t.Errorf("--log-level loud: %v, want a usage error", err)
	}
}
