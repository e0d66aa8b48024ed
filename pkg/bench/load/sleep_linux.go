package load

import (
	"syscall"
	"time"
)

// preciseSleep sleeps d in the kernel, not on a Go timer: nanosleep wakes
// within the timer slack (50 µs), where the runtime's poller may oversleep
// by a millisecond. It holds its thread, which the runtime replaces.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
