package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/habgo/hab/sup/update"
)

// serviceUpdatePeriod is how often update workers poll their channel:
// --service-update-period (seconds), unless HAB_UPDATE_STRATEGY_PERIOD_MS
// is set, which is raised to update.MinPeriod unless
// HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK is set too, as the original.
func (a *app) serviceUpdatePeriod(flagSeconds uint64) (time.Duration, error) {
	period := time.Duration(flagSeconds) * time.Second
	v := a.getenv("HAB_UPDATE_STRATEGY_PERIOD_MS")
	if v == "" {
		return period, nil
	}
	ms, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, usageError("HAB_UPDATE_STRATEGY_PERIOD_MS=%q: a whole number of milliseconds is expected", v)
	}
	period = time.Duration(ms) * time.Millisecond
	if period < update.MinPeriod && a.getenv("HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK") == "" {
		fmt.Fprintf(a.stderr, "HAB_UPDATE_STRATEGY_PERIOD_MS=%s is below the minimum of %s (set HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK to allow it): using %s\n", v, update.MinPeriod, update.MinPeriod)
		period = update.MinPeriod
	}
	return period, nil
}
