package engine

import (
	"net"
	"sync/atomic"
	"time"
)

// arrivals tells when the bytes of a connection last arrived: the return of
// the latest read from the socket that delivered data.
type arrivals interface {
	lastRead() (time.Time, bool)
}

// arrivalConn stamps every read from the socket that returns data. net/http
// puts a buffer between the socket and the response body, and its own
// goroutine reads the headers: Ollama sends its first line in the same
// segment as the headers, so that line sits in the buffer while the response
// is handed to the requesting goroutine, and a stamp taken when the body read
// returns would add that hand-off (a scheduler's delay on a busy machine) to
// the TTFT. The socket read's own return is when the bytes arrived.
type arrivalConn struct {
	net.Conn
	// last is the nanoseconds since arrivalBase, plus one, of the latest
	// read that returned data; 0 before the first. One atomic store per
	// read: net/http's reader goroutine and the body's reader both read.
	last atomic.Int64
}

// arrivalBase anchors the stamps; offsets from it keep the monotonic clock.
var arrivalBase = time.Now()

func (c *arrivalConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(int64(time.Since(arrivalBase)) + 1)
	}
	return n, err
}

func (c *arrivalConn) lastRead() (time.Time, bool) {
	v := c.last.Load()
	if v == 0 {
		return time.Time{}, false
	}
	return arrivalBase.Add(time.Duration(v - 1)), true
}

// arrivalsOf finds the stamping connection under the one net/http reports
// for a request: the TCP connection itself, or the one under TLS. Clients
// built elsewhere (the API server's service proxy) have none, and their
// streams are stamped when the body read returns.
func arrivalsOf(c net.Conn) *arrivalConn {
	for range 4 {
		switch v := c.(type) {
		case *arrivalConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// arrivedAt is when the bytes a read just returned arrived: the latest
// socket read's return when src knows it and it belongs to this request
// (not before floor, the send), else now; never before prev, so that stamps
// of one stream never go backwards.
func arrivedAt(src arrivals, floor, prev time.Time) time.Time {
	at := time.Now()
	if src != nil {
		if t, ok := src.lastRead(); ok && t.Before(at) && !t.Before(floor) {
			at = t
		}
	}
	if at.Before(prev) {
		at = prev
	}
	return at
}
