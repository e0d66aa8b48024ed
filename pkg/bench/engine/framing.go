package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxLine bounds one SSE line or NDJSON object so a broken server cannot make
// the client buffer without limit. Ollama's final /api/generate object carries
// the whole context array, so this is generous.
const maxLine = 16 << 20

var errLineTooLong = errors.New("stream line longer than 16 MiB")

// frameReader splits a response body into payloads (SSE data fields or
// NDJSON lines) and stamps each with the arrival time of the read that
// completed it. Stamping reads rather than parse calls matters: several
// events that arrived in one TCP read arrived together, whatever order we
// process them in.
type frameReader struct {
	r     io.Reader
	sse   bool
	buf   []byte
	start int
	end   int
	// scanned counts the bytes after start already searched for '\n', so
	// that a long line arriving in many reads is scanned once, not once per
	// read (which was quadratic in the line length).
	scanned int
	// searched is every byte handed to the search for '\n', so that a test
	// can hold the scan to linear without timing it.
	searched int64
	at       time.Time
	// src, when set, knows when the socket read that delivered the bytes
	// returned (arrivalConn); floor is the request's send, before which no
	// byte of this stream can have arrived.
	src   arrivals
	floor time.Time
	n     int64 // bytes read so far
	eof   bool
	err   error
	// partial is set once a line without its terminator was returned at a
	// clean EOF: the payload that includes it may be the cut-off remainder
	// of an event rather than a whole one, and a parse error on it means
	// truncation, not a protocol error.
	partial bool

	// SSE: data lines of the event being assembled (wire-formats.md §0).
	data    []byte
	hasData bool
}

const frameBufSize = 32 << 10

func newFrameReader(r io.Reader, sse bool) *frameReader {
	return &frameReader{r: r, sse: sse, buf: make([]byte, frameBufSize)}
}

// reset readies f for another body, sent at floor and arriving over src
// (nil when unknown), keeping its memory unless one huge line grew it: that
// is not worth keeping for every later stream.
func (f *frameReader) reset(r io.Reader, src arrivals, floor time.Time) {
	buf, data := f.buf, f.data[:0]
	if cap(buf) > 8*frameBufSize {
		buf = make([]byte, frameBufSize)
	}
	if cap(data) > 8*frameBufSize {
		data = nil
	}
	*f = frameReader{r: r, sse: f.sse, buf: buf[:cap(buf)], data: data, src: src, floor: floor}
}

// next returns the next payload, the monotonic time it arrived, and io.EOF
// when the body ended cleanly. The payload is valid until the next call.
func (f *frameReader) next() ([]byte, time.Time, error) {
	for {
		line, ok, err := f.line()
		if err != nil {
			if err == io.EOF && f.sse && f.hasData {
				// A last event without its blank line: accept it; servers
				// that close right after writing lose nothing this way.
				f.hasData = false
				return f.data, f.at, nil
			}
			return nil, f.at, err
		}
		if !ok {
			continue
		}
		if !f.sse {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return line, f.at, nil
		}
		if len(line) == 0 {
			if f.hasData {
				f.hasData = false
				return f.data, f.at, nil
			}
			continue
		}
		if line[0] == ':' { // comment, e.g. TGI keep-alive
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			// TGI <= 2.0 (axum 0.6) writes "data:" with no space.
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			continue // event:, id:, retry: carry nothing we measure
		}
		if f.hasData {
			f.data = append(f.data, '\n')
			f.data = append(f.data, value...)
		} else {
			f.data = append(f.data[:0], value...)
			f.hasData = true
		}
	}
}

// line returns the next line without its terminator (LF or CRLF). ok is
// false when more bytes are needed and were read.
func (f *frameReader) line() ([]byte, bool, error) {
	if i := bytes.IndexByte(f.buf[f.start+f.scanned:f.end], '\n'); i >= 0 {
		f.searched += int64(i + 1)
		i += f.scanned
		l := f.buf[f.start : f.start+i]
		f.start += i + 1
		f.scanned = 0
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		return l, true, nil
	}
	f.searched += int64(f.end - f.start - f.scanned)
	f.scanned = f.end - f.start
	if f.eof {
		// A last line without a terminator is kept only after a clean EOF.
		// After a transport error (connection reset, unexpected EOF in the
		// chunked encoding) it is the cut-off part of an event: delivering
		// it would turn a truncated stream into a parse error.
		if f.start < f.end && f.err == io.EOF {
			l := f.buf[f.start:f.end]
			f.start, f.scanned = f.end, 0
			f.partial = true
			return bytes.TrimSuffix(l, []byte{'\r'}), true, nil
		}
		return nil, false, f.err
	}
	if f.start > 0 {
		n := copy(f.buf, f.buf[f.start:f.end])
		f.start, f.end = 0, n
	}
	if f.end == len(f.buf) {
		if len(f.buf) >= maxLine {
			return nil, false, errLineTooLong
		}
		nb := make([]byte, 2*len(f.buf))
		copy(nb, f.buf[:f.end])
		f.buf = nb
	}
	n, err := f.r.Read(f.buf[f.end:])
	if n > 0 {
		f.at = arrivedAt(f.src, f.floor, f.at)
		f.end += n
		f.n += int64(n)
	}
	if err != nil {
		f.eof = true
		f.err = err
		if err != io.EOF {
			f.err = fmt.Errorf("reading stream: %w", err)
		}
	}
	return nil, false, nil
}
