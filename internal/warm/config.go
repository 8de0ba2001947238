package warm

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// Config is the pool's part of `bmsched serve`.
type Config struct {
	// PerImage is how many snapshots to keep ready of each image acquired
	// within Idle (serve --warm); 0 for none.
	PerImage int
	// For overrides PerImage for some machines or images (serve
	// --warm-for); the most specific target wins.
	For []Target
	// Idle is how long after its last acquire an image's pool is kept;
	// then it is drained. 0 for DefaultIdle.
	Idle time.Duration
}

// DefaultIdle is how long a pool outlives its image's last acquire.
const DefaultIdle = 10 * time.Minute

// MaxPerImage bounds a pool: each ready snapshot is a subvolume the
// filesystem keeps, and a typo of 1000 would make a thousand.
const MaxPerImage = 64

// Target is one --warm-for: N ready snapshots of the images of Machine
// (on any volume when Volume is ""), or of its Toolchain alone.
type Target struct {
	Volume, Machine, Toolchain string
	N                          int
}

// Enabled reports whether the pool would ever hold a snapshot.
func (c Config) Enabled() bool {
	if c.PerImage > 0 {
		return true
	}
	for _, t := range c.For {
		if t.N > 0 {
			return true
		}
	}
	return false
}

// target is how many snapshots of the image to keep ready: the most
// specific --warm-for that names it, else PerImage.
func (c Config) target(k key) int {
	n, best := c.PerImage, 0
	for _, t := range c.For {
		if t.Machine != k.machine || t.Volume != "" && t.Volume != k.volume || t.Toolchain != "" && t.Toolchain != k.toolchain {
			continue
		}
		score := 1
		if t.Toolchain != "" {
			score += 2
		}
		if t.Volume != "" {
			score++
		}
		if score > best {
			n, best = t.N, score
		}
	}
	return n
}

// ParseTarget reads one --warm-for: MACHINE=N, MACHINE/TOOLCHAIN=N or
// VOLUME/MACHINE/TOOLCHAIN=N. A bare MACHINE matches that name on every
// volume.
func ParseTarget(s string) (Target, error) {
	spec, num, ok := strings.Cut(s, "=")
	if !ok {
		return Target{}, fmt.Errorf("--warm-for %q: write MACHINE[/TOOLCHAIN]=N or VOLUME/MACHINE/TOOLCHAIN=N", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > MaxPerImage {
		return Target{}, fmt.Errorf("--warm-for %q: N must be a number from 0 to %d", s, MaxPerImage)
	}
	t := Target{N: n}
	parts := strings.Split(spec, "/")
	switch len(parts) {
	case 1:
		t.Machine = parts[0]
	case 2:
		t.Machine, t.Toolchain = parts[0], parts[1]
	case 3:
		t.Volume, t.Machine, t.Toolchain = parts[0], parts[1], parts[2]
		if err := fsscan.ValidVolumeName(t.Volume); err != nil {
			return Target{}, fmt.Errorf("--warm-for %q: %w", s, err)
		}
	default:
		return Target{}, fmt.Errorf("--warm-for %q: at most VOLUME/MACHINE/TOOLCHAIN before the =", s)
	}
	if err := fsscan.ValidMachineName(t.Machine); err != nil {
		return Target{}, fmt.Errorf("--warm-for %q: %w", s, err)
	}
	if t.Toolchain != "" {
		if err := fsscan.ValidToolchain(t.Toolchain); err != nil {
			return Target{}, fmt.Errorf("--warm-for %q: %w", s, err)
		}
	}
	return t, nil
}
