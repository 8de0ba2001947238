package lease

import (
	"time"

	"github.com/bmsched/bmsched/internal/errkind"
)

// MinDuration is the shortest TTL or hold a lease takes. Anything
// shorter ends the lease before its client could use the path it was
// given (`acquire --ttl 1ns` printed a path already deleted).
const MinDuration = time.Second

// checkDuration refuses a TTL or hold that is given (not 0) and shorter
// than MinDuration; flag names the option, as the CLI spells it.
func checkDuration(flag string, d time.Duration) error {
	if d != 0 && d < MinDuration {
		return errkind.Errorf(errkind.Usage, "%s %s: must be at least %s (or not given)", flag, d, MinDuration)
	}
	return nil
}
