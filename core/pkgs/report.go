package pkgs

// Status names a step reported to a Reporter; the CLI prints it with the
// original's glyphs ("✓ Installed core/redis/...").
type Status string

// The steps the store reports, worded as the original words them.
const (
	StatusCached         Status = "Cached"
	StatusDeleting       Status = "Deleting"
	StatusDetermining    Status = "Determining"
	StatusDryRunDeleting Status = "Would be deleted (Dry run)"
	StatusExecuting      Status = "Executing"
	StatusFound          Status = "Found"
	StatusInstalled      Status = "Installed"
	StatusSkipping       Status = "Skipping"
	StatusUsing          Status = "Using"
	StatusVerifying      Status = "Verifying"
	StatusCreating       Status = "Creating"
)

// Reporter receives progress as the original's UI shows it: Begin opens an
// operation, Status reports a step, Warn a problem that does not stop it,
// End closes it. Implementations must be safe to call from one goroutine
// at a time only; the store never calls them concurrently.
type Reporter interface {
	Begin(msg string)
	Status(s Status, msg string)
	Warn(msg string)
	End(msg string)
}

// discard is the Reporter used when none is given: it drops everything.
type discard struct{}

func (discard) Begin(string)          {}
func (discard) Status(Status, string) {}
func (discard) Warn(string)           {}
func (discard) End(string)            {}

func reporter(r Reporter) Reporter {
	if r == nil {
		return discard{}
	}
	return r
}
