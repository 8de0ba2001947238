package daemoncli

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/cliapp"
	"github.com/bmsched/bmsched/internal/server"
	"github.com/bmsched/bmsched/internal/warm"
)

// TestServeFlagsFromEnv: every serve flag can be set by an
// EnvironmentFile= line, BMSCHED_ and the flag's name.
func TestServeFlagsFromEnv(t *testing.T) {
	for _, f := range cliapp.Find(newApp(nil, nil).Commands, "serve").Flags {
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
	if _, err := serveLog("xml", "info"); err == nil || cliapp.ExitCode(err) != 2 || !strings.Contains(err.Error(), "use text or json") {
		t.Errorf("--log-format xml: %v, want a usage error that names the choices", err)
	}
	if _, err := serveLog("text", "loud"); err == nil || cliapp.ExitCode(err) != 2 {
		t.Errorf("--log-level loud: %v, want a usage error", err)
	}
}

// TestServeDefaults: the defaults that serve's help shows, which the
// client prints without linking the server, are the server's.
func TestServeDefaults(t *testing.T) {
	if cliapp.DefaultMaxHold != server.DefaultMaxHold ||
		cliapp.DefaultBuildUser != server.DefaultBuildUser ||
		cliapp.DefaultReadTimeout != server.DefaultReadTimeout ||
		cliapp.DefaultIdleTimeout != server.DefaultIdleTimeout ||
		cliapp.DefaultMaxConnsPerUser != server.DefaultMaxConnsPerUser ||
		cliapp.DefaultWarmIdle != warm.DefaultIdle ||
		cliapp.MaxWarm != warm.MaxPerImage {
		t.Error("internal/cliapp's copies of the server's defaults differ from internal/server's: make them equal")
	}
}
