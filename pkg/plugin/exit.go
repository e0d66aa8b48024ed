package plugin

import "fmt"

// ExitError carries a process exit code other than 1, such as 130 after
// Ctrl-C, through cobra to main.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitRegression is compare's exit code for a regression past
// --fail-on-regression, distinct from 1 (the comparison failed) so a CI
// pipeline can tell a slower engine from a broken job.
const ExitRegression = 3
