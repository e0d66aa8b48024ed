// Package gguf writes GGUF v3 files, and in particular the tiny random-weight
// llama model that the end-to-end tests serve from a real Ollama
// (shared/reference/real-ollama.md, "The model"). Standard library only, so
// that `go test ./...` builds it without the e2e tag.
package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Magic opens every GGUF file ("GGUF" in file order).
const Magic = "GGUF"

// Version is the GGUF format version written.
const Version = 3

// DefaultAlignment is the data alignment GGUF readers assume when
// general.alignment is absent; we always write it.
const DefaultAlignment = 32

// Metadata value types (ggml's gguf_type).
const (
	TypeUint8   uint32 = 0
	TypeInt8    uint32 = 1
	TypeUint16  uint32 = 2
	TypeInt16   uint32 = 3
	TypeUint32  uint32 = 4
	TypeInt32   uint32 = 5
	TypeFloat32 uint32 = 6
	TypeBool    uint32 = 7
	TypeString  uint32 = 8
	TypeArray   uint32 = 9
	TypeUint64  uint32 = 10
	TypeInt64   uint32 = 11
	TypeFloat64 uint32 = 12
)

// TensorF32 is ggml's type id of 32-bit float tensors (GGML_TYPE_F32).
const TensorF32 uint32 = 0

// KV is one metadata entry. Value is one of uint32, uint64, int32, float32,
// bool, string, []string, []float32 or []int32.
type KV struct {
	Key   string
	Value any
}

// Tensor is one F32 tensor. Dims are ggml's ne: Dims[0] is the length of a
// row (the innermost, contiguous dimension).
type Tensor struct {
	Name string
	Dims []uint64
	Data []float32
}

// Elements is the product of the dimensions.
func (t Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a whole GGUF file: metadata, then tensor infos, then the data of
// every tensor, each aligned to Alignment.
type File struct {
	KV        []KV
	Tensors   []Tensor
	Alignment uint64 // 0 = DefaultAlignment
}

func (f *File) alignment() uint64 {
	if f.Alignment == 0 {
		return DefaultAlignment
	}
	return f.Alignment
}

// WriteTo writes the file.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: bufio.NewWriterSize(w, 64<<10)}
	e := &encoder{w: cw}
	align := f.alignment()

	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(f.Tensors)))
	e.u64(uint64(len(f.KV)))
	for _, kv := range f.KV {
		e.str(kv.Key)
		e.value(kv.Key, kv.Value)
	}
	var offset uint64
	for _, t := range f.Tensors {
		if uint64(len(t.Data)) != t.Elements() {
			e.fail(fmt.Errorf("tensor %s: %d values for dims %v", t.Name, len(t.Data), t.Dims))
		}
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(TensorF32)
		e.u64(offset)
		offset = alignUp(offset+4*t.Elements(), align)
	}
	e.pad(align)
	for _, t := range f.Tensors {
		buf := make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		e.raw(buf)
		e.pad(align)
	}
	if e.err == nil {
		e.err = cw.w.(*bufio.Writer).Flush()
	}
	return cw.n, e.err
}

// WriteFile writes the file to path.
func (f *File) WriteFile(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.WriteTo(out); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return out.Close()
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian GGUF primitives and keeps the first error.
type encoder struct {
	w   *countingWriter
	err error
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(b)
}

func (e *encoder) u32(v uint32) { e.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.raw(binary.LittleEndian.AppendUint64(nil, v)) }

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) pad(align uint64) {
	if n := alignUp(uint64(e.w.n), align) - uint64(e.w.n); n > 0 {
		e.raw(make([]byte, n))
	}
}

func (e *encoder) value(key string, v any) {
	switch v := v.(type) {
	case uint32:
		e.u32(TypeUint32)
		e.u32(v)
	case int32:
		e.u32(TypeInt32)
		e.u32(uint32(v))
	case uint64:
		e.u32(TypeUint64)
		e.u64(v)
	case float32:
		e.u32(TypeFloat32)
		e.u32(math.Float32bits(v))
	case bool:
		e.u32(TypeBool)
		b := byte(0)
		if v {
			b = 1
		}
		e.raw([]byte{b})
	case string:
		e.u32(TypeString)
		e.str(v)
	case []string:
		e.u32(TypeArray)
		e.u32(TypeString)
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(TypeArray)
		e.u32(TypeFloat32)
		e.u64(uint64(len(v)))
		for _, f := range v {
			e.u32(math.Float32bits(f))
		}
	case []int32:
		e.u32(TypeArray)
		e.u32(TypeInt32)
		e.u64(uint64(len(v)))
		for _, n := range v {
			e.u32(uint32(n))
		}
	default:
		e.fail(errors.New("gguf: unsupported value type for " + key + fmt.Sprintf(": %T", v)))
	}
}
