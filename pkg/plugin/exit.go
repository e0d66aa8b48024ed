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
