//go:build !linux

package load

import "time"

// preciseSleep falls back to the runtime's timers where nanosleep is not
// wired up; their precision is the platform's.
func preciseSleep(d time.Duration) { time.Sleep(d) }
