package engine

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFrameSSEFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"space after colon", "data: a\n\n", []string{"a"}},
		{"no space (axum 0.6)", "data:a\n\n", []string{"a"}},
		{"only one space is stripped", "data:  a\n\n", []string{" a"}},
		{"multi-line data joins with LF", "data: {\"a\":\ndata: 1}\n\n", []string{"{\"a\":\n1}"}},
		{"empty data line", "data:\n\n", []string{""}},
		{"field name without colon", "data\n\n", []string{""}},
		{"comments and keep-alive", ":\n\n: ping\ndata: a\n: mid\n\n", []string{"a"}},
		{"other fields are ignored", "event: error\nid: 3\nretry: 10\ndata: a\n\n", []string{"a"}},
		{"unknown field", "dat: x\ndata: a\n\n", []string{"a"}},
		{"event without data yields nothing", "event: x\n\ndata: a\n\n", []string{"a"}},
		{"several blank lines", "data: a\n\n\n\n\ndata: b\n\n", []string{"a", "b"}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"last event without blank line", "data: a\n\ndata: b\n", []string{"a", "b"}},
		{"last event without newline", "data: a\n\ndata: b", []string{"a", "b"}},
		{"last event CRLF without newline", "data: a\r\n\r\ndata: b\r", []string{"a", "b"}},
		{"colon inside the value", "data: {\"u\":\"http://x\"}\n\n", []string{`{"u":"http://x"}`}},
		{"empty body", "", nil},
		{"only comments", ":\n\n:\n\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rd := range readers {
				got, err := frames(rd.wrap([]byte(tc.in)), true)
				if err != nil {
					t.Fatalf("%s: %v", rd.name, err)
				}
				if s := strs(got); !reflect.DeepEqual(s, tc.want) {
					t.Errorf("%s: payloads = %q, want %q", rd.name, s, tc.want)
				}
			}
		})
	}
}

func TestFrameNDJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lines", "{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}},
		{"CRLF", "{\"a\":1}\r\n{\"b\":2}\r\n", []string{`{"a":1}`, `{"b":2}`}},
		{"blank and whitespace lines", "\n  \n{\"a\":1}\n\t\r\n", []string{`{"a":1}`}},
		{"no final newline", "{\"a\":1}\n{\"b\":2}", []string{`{"a":1}`, `{"b":2}`}},
		{"SSE syntax is not special", "data: x\n:\n", []string{"data: x", ":"}},
		{"empty body", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rd := range readers {
				got, err := frames(rd.wrap([]byte(tc.in)), false)
				if err != nil {
					t.Fatalf("%s: %v", rd.name, err)
				}
				if s := strs(got); !reflect.DeepEqual(s, tc.want) {
					t.Errorf("%s: payloads = %q, want %q", rd.name, s, tc.want)
				}
			}
		})
	}
}

func strs(b [][]byte) []string {
	var s []string
	for _, x := range b {
		s = append(s, string(x))
	}
	return s
}

// stampedReader returns its pieces one per Read and records, just before
// returning each, the time it handed the piece over.
type stampedReader struct {
	pieces []string
	sent   []time.Time
}

func (s *stampedReader) Read(p []byte) (int, error) {
	if len(s.pieces) == 0 {
		return 0, io.EOF
	}
	time.Sleep(2 * time.Millisecond) // keep reads distinguishable on coarse clocks
	n := copy(p, s.pieces[0])
	s.pieces = s.pieces[1:]
	s.sent = append(s.sent, time.Now())
	return n, nil
}

// TestFrameArrivalStamps pins what a payload's time means: the moment the
// read that completed it returned. Not the read that started it, and not
// when the caller got around to asking for it.
func TestFrameArrivalStamps(t *testing.T) {
	for _, sse := range []bool{true, false} {
		var pieces []string
		if sse {
			// read 0: first half of A; read 1: rest of A, all of B, start of C;
			// read 2: rest of C (without its blank line); read 3: the blank line.
			pieces = []string{"data: {\"A\"", ":1}\n\ndata: B\n\ndata: C", "\n", "\n"}
		} else {
			pieces = []string{"{\"A\"", ":1}\nB\nC", "\n", "\n"}
		}
		r := &stampedReader{pieces: pieces}
		fr := newFrameReader(r, sse)
		type got struct {
			payload string
			at      time.Time
		}
		var gs []got
		for {
			p, at, err := fr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond) // a slow consumer must not shift stamps
			gs = append(gs, got{string(p), at})
		}
		if len(gs) != 3 {
			t.Fatalf("sse=%v: %d payloads, want 3", sse, len(gs))
		}
		// completedBy[i] is the read whose return completed payload i.
		completedBy := []int{1, 1, 2}
		if sse {
			completedBy = []int{1, 1, 3} // C is complete only at its blank line
		}
		for i, g := range gs {
			k := completedBy[i]
			lo := r.sent[k]
			if g.at.Before(lo) {
				t.Errorf("sse=%v payload %q stamped %v before read %d returned", sse, g.payload, lo.Sub(g.at), k)
			}
			if k+1 < len(r.sent) && !g.at.Before(r.sent[k+1]) {
				t.Errorf("sse=%v payload %q stamped at or after read %d, want read %d", sse, g.payload, k+1, k)
			}
		}
		if gs[0].at != gs[1].at {
			t.Errorf("sse=%v: payloads completed by one read have different stamps", sse)
		}
	}
}

// TestFrameLongLine crosses the initial 32 KiB buffer; Ollama's final
// /api/generate object carries the whole context array.
func TestFrameLongLine(t *testing.T) {
	big := `{"context":[` + strings.Repeat("128006,", 40000) + `1]}`
	for _, sse := range []bool{true, false} {
		in := big + "\n{\"b\":1}\n"
		if sse {
			in = "data: " + big + "\n\ndata: {\"b\":1}\n\n"
		}
		got, err := frames(strings.NewReader(in), sse)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || string(got[0]) != big || string(got[1]) != `{"b":1}` {
			t.Fatalf("sse=%v: got %d payloads", sse, len(got))
		}
	}
}

// endless yields one byte value forever, without a newline.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestFrameLineTooLong(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 16 MiB")
	}
	_, _, err := newFrameReader(endless('a'), false).next()
	if !errors.Is(err, errLineTooLong) {
		t.Fatalf("err = %v, want errLineTooLong", err)
	}
}

var errReset = errors.New("connection reset by peer")

// failingReader returns its bytes, then err.
type failingReader struct {
	b   []byte
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, f.err
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// TestFrameReadError: a transport error ends the stream with that error,
// wrapped; the cut-off bytes before it are never delivered as a payload
// (that would turn truncation into a parse error).
func TestFrameReadError(t *testing.T) {
	tests := []struct {
		name string
		sse  bool
		in   string
		want []string
	}{
		{"sse cut mid-line", true, "data: a\n\ndata: {\"x\":", []string{"a"}},
		{"sse cut before blank line", true, "data: a\n\ndata: b\n", []string{"a"}},
		{"ndjson cut mid-line", false, "{\"a\":1}\n{\"b\":", []string{`{"a":1}`}},
		{"unexpected EOF", false, "{\"a\":1}\n{", []string{`{"a":1}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cause := errReset
			if tc.name == "unexpected EOF" {
				cause = io.ErrUnexpectedEOF
			}
			fr := newFrameReader(&failingReader{b: []byte(tc.in), err: cause}, tc.sse)
			var got []string
			var err error
			for {
				var p []byte
				p, _, err = fr.next()
				if err != nil {
					break
				}
				got = append(got, string(p))
			}
			if !errors.Is(err, cause) || err == cause {
				t.Errorf("err = %v, want %v wrapped", err, cause)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("payloads = %q, want %q", got, tc.want)
			}
			if fr.partial {
				t.Error("partial set after a transport error")
			}
			// The error is sticky.
			if _, _, err2 := fr.next(); !errors.Is(err2, cause) {
				t.Errorf("second next() = %v", err2)
			}
		})
	}
}

// TestFramePartial: at a clean EOF an unterminated last line is delivered,
// flagged so that a parse failure on it reads as truncation.
func TestFramePartial(t *testing.T) {
	tests := []struct {
		name    string
		sse     bool
		in      string
		partial bool
	}{
		{"sse terminated", true, "data: a\n\n", false},
		{"sse no blank line", true, "data: a\n", false},
		{"sse no newline", true, "data: a", true},
		{"ndjson terminated", false, "{}\n", false},
		{"ndjson no newline", false, "{}", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFrameReader(strings.NewReader(tc.in), tc.sse)
			if _, _, err := fr.next(); err != nil {
				t.Fatal(err)
			}
			if fr.partial != tc.partial {
				t.Errorf("partial = %v, want %v", fr.partial, tc.partial)
			}
			if _, _, err := fr.next(); err != io.EOF {
				t.Errorf("then %v, want io.EOF", err)
			}
		})
	}
}

// TestFrameByteCount: ResponseBytes comes from the frameReader's count.
func TestFrameByteCount(t *testing.T) {
	in := []byte("data: a\n\n: c\n\ndata: b\n\n")
	fr := newFrameReader(halfReader(in), true)
	for {
		if _, _, err := fr.next(); err != nil {
			break
		}
	}
	if fr.n != int64(len(in)) {
		t.Errorf("n = %d, want %d", fr.n, len(in))
	}
}

func halfReader(b []byte) io.Reader { return &splitReader{b: bytes.Clone(b), k: len(b) / 2} }

// TestFrameLongLineManyReads: a long line arriving in small reads must be
// scanned once. Rescanning the buffered part on every read is quadratic:
// for this 4 MiB line in 32-byte reads that took about 4 s, against 40 ms.
// The bytes searched are counted, not timed, so a busy machine cannot fail it.
func TestFrameLongLineManyReads(t *testing.T) {
	line := bytes.Repeat([]byte("x"), 4<<20)
	in := append(append([]byte{}, line...), "\n{}\n"...)
	fr := newFrameReader(&chunkReader{b: in, n: 32}, false)
	var got [][]byte
	for {
		p, _, err := fr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(p))
	}
	if len(got) != 2 || len(got[0]) != len(line) {
		t.Fatalf("got %d payloads", len(got))
	}
	if fr.searched > int64(len(in)) {
		t.Errorf("framing a %d-byte stream in 32-byte reads searched %d bytes for line ends: a byte is searched more than once", len(in), fr.searched)
	}
}
