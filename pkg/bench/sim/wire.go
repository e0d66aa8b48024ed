package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The simulator writes JSON by appending bytes in the engines' own key
// order: encoding/json cannot reproduce Python's and Rust's orders and
// would cost an allocation-heavy Marshal per token.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string literal. goStyle adds the escapes
// Go's encoding/json makes (<, >, &, U+2028, U+2029, invalid UTF-8), which
// Ollama's output carries (real-ollama-0.24.0-chat.ndjson has "\u003c");
// pydantic and serde_json write those bytes as they are.
func appendString(b []byte, s string, goStyle bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!goStyle || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		if !goStyle {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// appendQuotedWord appends a vocabulary text, which needs no escaping.
func appendQuotedWord(b []byte, w *word) []byte {
	b = append(b, '"')
	b = append(b, w.text...)
	return append(b, '"')
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// sender writes one streamed response. Headers go out with the first send
// (or explicitly with start); every send is flushed, so each chunk leaves
// when it is modelled to.
type sender struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	contentType string
	started     bool
	pooled      *[]byte
	buf         []byte
}

func newSender(w http.ResponseWriter, contentType string) *sender {
	p := bufPool.Get().(*[]byte)
	return &sender{w: w, rc: http.NewResponseController(w), contentType: contentType, pooled: p, buf: (*p)[:0]}
}

func (s *sender) free() {
	*s.pooled = s.buf[:0]
	bufPool.Put(s.pooled)
}

func (s *sender) writeHeader() {
	if s.started {
		return
	}
	s.started = true
	s.w.Header().Set("Content-Type", s.contentType)
	s.w.WriteHeader(http.StatusOK)
}

// start sends the headers now, as servers that open the stream before the
// first token do (vLLM, TGI).
func (s *sender) start() error {
	s.writeHeader()
	return s.rc.Flush()
}

// send writes and flushes the buffer, then empties it.
func (s *sender) send() error {
	s.writeHeader()
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		return err
	}
	return s.rc.Flush()
}

const sseDone = "data: [DONE]\n\n"

// writeJSON writes a whole non-streamed body.
func writeJSON(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

const maxBodyBytes = 32 << 20

var errEmptyBody = errors.New("missing request body")

// decodeBody reads a JSON request body into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("reading request body: %w", err)
	}
	if len(body) == 0 {
		return errEmptyBody
	}
	return json.Unmarshal(body, v)
}
