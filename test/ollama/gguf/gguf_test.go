package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The reader below is independent of the writer: it follows the GGUF v3
// layout as ggml's gguf.cpp reads it, so that a writer bug cannot hide
// behind a matching reader bug.

type parsedTensor struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
}

type parsed struct {
	version    uint32
	kv         map[string]any
	keys       []string
	tensors    []parsedTensor
	headerEnd  int64 // after the last tensor info
	dataOffset int64 // where tensor data begins
	size       int64
	data       []byte // the whole file
}

type reader struct {
	b   []byte
	off int64
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b))-uint64(r.off) < n {
		panic(fmt.Sprintf("read of %d bytes at %d past the end (%d)", n, r.off, len(r.b)))
	}
	out := r.b[r.off : r.off+int64(n)]
	r.off += int64(n)
	return out
}

func (r *reader) u8() uint8   { return r.bytes(1)[0] }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.bytes(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.bytes(8)) }
func (r *reader) str() string { return string(r.bytes(r.u64())) }

func (r *reader) value(typ uint32) any {
	switch typ {
	case 0:
		return r.u8()
	case 1:
		return int8(r.u8())
	case 2:
		return binary.LittleEndian.Uint16(r.bytes(2))
	case 3:
		return int16(binary.LittleEndian.Uint16(r.bytes(2)))
	case 4:
		return r.u32()
	case 5:
		return int32(r.u32())
	case 6:
		return math.Float32frombits(r.u32())
	case 7:
		switch b := r.u8(); b {
		case 0:
			return false
		case 1:
			return true
		default:
			panic(fmt.Sprintf("bool byte %d", b))
		}
	case 8:
		return r.str()
	case 9:
		elem, n := r.u32(), r.u64()
		out := make([]any, n)
		for i := range out {
			out[i] = r.value(elem)
		}
		return out
	case 10:
		return r.u64()
	case 11:
		return int64(r.u64())
	case 12:
		return math.Float64frombits(r.u64())
	}
	panic(fmt.Sprintf("unknown value type %d", typ))
}

func parse(t *testing.T, b []byte) (p *parsed) {
	t.Helper()
	defer func() {
		if e := recover(); e != nil {
			t.Fatalf("parsing: %v", e)
		}
	}()
	r := &reader{b: b}
	if magic := string(r.bytes(4)); magic != "GGUF" {
		t.Fatalf("magic %q", magic)
	}
	p = &parsed{version: r.u32(), kv: map[string]any{}, size: int64(len(b)), data: b}
	nt, nkv := r.u64(), r.u64()
	for i := uint64(0); i < nkv; i++ {
		k := r.str()
		if _, dup := p.kv[k]; dup {
			t.Errorf("duplicate key %s", k)
		}
		p.kv[k] = r.value(r.u32())
		p.keys = append(p.keys, k)
	}
	for i := uint64(0); i < nt; i++ {
		var pt parsedTensor
		pt.name = r.str()
		nd := r.u32()
		for d := uint32(0); d < nd; d++ {
			pt.dims = append(pt.dims, r.u64())
		}
		pt.typ, pt.offset = r.u32(), r.u64()
		p.tensors = append(p.tensors, pt)
	}
	align := int64(32)
	if a, ok := p.kv["general.alignment"].(uint32); ok {
		align = int64(a)
	}
	p.headerEnd = r.off
	p.dataOffset = (r.off + align - 1) / align * align
	return p
}

func (p *parsed) floats(t *testing.T, name string) []float32 {
	t.Helper()
	for _, pt := range p.tensors {
		if pt.name != name {
			continue
		}
		n := uint64(1)
		for _, d := range pt.dims {
			n *= d
		}
		start := p.dataOffset + int64(pt.offset)
		raw := p.data[start : start+int64(4*n)]
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out
	}
	t.Fatalf("no tensor %s", name)
	return nil
}

func writeTiny(t *testing.T, o TinyOptions) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := WriteTiny(path, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTinyFileParsesBack(t *testing.T) {
	b := writeTiny(t, TinyOptions{Seed: 1, EOSBias: -1})
	p := parse(t, b)
	if p.version != 3 {
		t.Errorf("version %d, want 3", p.version)
	}
	if p.size != 519744 {
		t.Errorf("file is %d bytes, want 519,744", p.size)
	}

	want := map[string]any{
		"general.architecture":                   "llama",
		"general.name":                           "kubectl-llmbench tiny",
		"general.alignment":                      uint32(32),
		"general.file_type":                      uint32(0),
		"llama.vocab_size":                       uint32(354),
		"llama.context_length":                   uint32(2048),
		"llama.embedding_length":                 uint32(64),
		"llama.block_count":                      uint32(2),
		"llama.feed_forward_length":              uint32(128),
		"llama.rope.dimension_count":             uint32(16),
		"llama.rope.freq_base":                   float32(10000),
		"llama.attention.head_count":             uint32(4),
		"llama.attention.head_count_kv":          uint32(4),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"tokenizer.ggml.model":                   "llama",
		"tokenizer.ggml.bos_token_id":            uint32(1),
		"tokenizer.ggml.eos_token_id":            uint32(2),
		"tokenizer.ggml.unknown_token_id":        uint32(0),
		"tokenizer.ggml.add_bos_token":           true,
		"tokenizer.ggml.add_eos_token":           false,
	}
	for k, v := range want {
		if got, ok := p.kv[k]; !ok || got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	if len(p.keys) != len(want)+3 {
		t.Errorf("%d keys, want %d: %v", len(p.keys), len(want)+3, p.keys)
	}

	tokens, _ := p.kv["tokenizer.ggml.tokens"].([]any)
	scores, _ := p.kv["tokenizer.ggml.scores"].([]any)
	types, _ := p.kv["tokenizer.ggml.token_type"].([]any)
	if len(tokens) != 354 || len(scores) != 354 || len(types) != 354 {
		t.Fatalf("tokens/scores/token_type have %d/%d/%d entries, want 354", len(tokens), len(scores), len(types))
	}
	for id, w := range map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 13: "<0x0A>", 258: "<0xFF>", 259: "\u2581", 260: "!", 331: "h", 353: "~"} {
		if tokens[id] != w {
			t.Errorf("token %d = %q, want %q", id, tokens[id], w)
		}
	}
	seen := map[any]bool{}
	for id, tok := range tokens {
		if seen[tok] {
			t.Errorf("token %q appears twice", tok)
		}
		seen[tok] = true
		wantType := int32(1) // normal
		switch {
		case id == 0:
			wantType = 2 // unknown
		case id <= 2:
			wantType = 3 // control
		case id <= 258:
			wantType = 6 // byte
		}
		if types[id] != wantType {
			t.Errorf("token %d %q has type %v, want %d", id, tok, types[id], wantType)
		}
		if _, ok := scores[id].(float32); !ok {
			t.Errorf("score %d is %T, want float32", id, scores[id])
		}
	}

	names := []string{"token_embd.weight"}
	for b := 0; b < 2; b++ {
		for _, n := range []string{"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"} {
			names = append(names, fmt.Sprintf("blk.%d.%s.weight", b, n))
		}
	}
	names = append(names, "output_norm.weight", "output.weight")
	shapes := map[string][]uint64{
		"token_embd.weight": {64, 354}, "output.weight": {64, 354}, "output_norm.weight": {64},
		"attn_norm": {64}, "ffn_norm": {64}, "attn_q": {64, 64}, "attn_k": {64, 64}, "attn_v": {64, 64},
		"attn_output": {64, 64}, "ffn_gate": {64, 128}, "ffn_up": {64, 128}, "ffn_down": {128, 64},
	}
	if len(p.tensors) != 21 {
		t.Fatalf("%d tensors, want 21", len(p.tensors))
	}
	var params, next uint64
	for i, pt := range p.tensors {
		if pt.name != names[i] {
			t.Errorf("tensor %d is %s, want %s", i, pt.name, names[i])
		}
		key := pt.name
		if len(key) > 6 && key[:4] == "blk." {
			key = key[6 : len(key)-len(".weight")]
		}
		if fmt.Sprint(pt.dims) != fmt.Sprint(shapes[key]) {
			t.Errorf("%s has dims %v, want %v", pt.name, pt.dims, shapes[key])
		}
		if pt.typ != 0 {
			t.Errorf("%s has type %d, want 0 (F32)", pt.name, pt.typ)
		}
		if pt.offset%32 != 0 || pt.offset != next {
			t.Errorf("%s at offset %d, want %d (aligned to 32)", pt.name, pt.offset, next)
		}
		n := uint64(1)
		for _, d := range pt.dims {
			n *= d
		}
		params += n
		next = (pt.offset + 4*n + 31) / 32 * 32
	}
	if params != 127552 {
		t.Errorf("%d parameters, want 127,552", params)
	}
	if p.dataOffset%32 != 0 || p.dataOffset+int64(next) != p.size {
		t.Errorf("data starts at %d and runs %d bytes, but the file has %d", p.dataOffset, next, p.size)
	}
	if p.dataOffset != 9536 {
		t.Errorf("header with padding is %d bytes, want 9,536", p.dataOffset)
	}
	for i := p.headerEnd; i < p.dataOffset; i++ {
		if b[i] != 0 {
			t.Fatalf("padding byte %d is %#x, want 0", i, b[i])
		}
	}
	checkWeights(t, p)
}

// checkWeights checks the fixed roles of residual dimensions (tiny.go).
func checkWeights(t *testing.T, p *parsed) {
	t.Helper()
	embd := p.floats(t, "token_embd.weight")
	for tok := 0; tok < VocabSize; tok++ {
		if embd[tok*64+dimBias] != embd[dimBias] || embd[dimBias] == 0 {
			t.Fatalf("token %d: dimension 0 of the embedding is %v, not the shared constant %v", tok, embd[tok*64], embd[0])
		}
	}
	for b := 0; b < BlockCount; b++ {
		for _, name := range []string{"attn_output", "ffn_down"} {
			w := p.floats(t, fmt.Sprintf("blk.%d.%s.weight", b, name))
			in := len(w) / 64
			for col := 0; col < in; col++ {
				if w[dimBias*in+col] != 0 {
					t.Fatalf("blk.%d.%s writes residual dimension 0", b, name)
				}
			}
		}
	}
	out := p.floats(t, "output.weight")
	for tok := 0; tok < TokenSpace; tok++ {
		if out[tok*64+dimBias] >= 0 {
			t.Errorf("token %d has logit bias %v; only printable tokens and ▁ may be generated", tok, out[tok*64+dimBias])
		}
	}
}

func TestTinyIsDeterministic(t *testing.T) {
	a := writeTiny(t, TinyOptions{Seed: 1, EOSBias: 1})
	if b := writeTiny(t, TinyOptions{Seed: 1, EOSBias: 1}); !bytes.Equal(a, b) {
		t.Error("the same seed wrote different files")
	}
	if b := writeTiny(t, TinyOptions{Seed: 2, EOSBias: 1}); bytes.Equal(a, b) {
		t.Error("another seed wrote the same file")
	}
	// The EOS bias changes </s>'s output weights and nothing else.
	stop, never := parse(t, a), parse(t, writeTiny(t, TinyOptions{Seed: 1, EOSBias: -1}))
	for _, pt := range stop.tensors {
		x, y := stop.floats(t, pt.name), never.floats(t, pt.name)
		for i := range x {
			if x[i] != y[i] && !(pt.name == "output.weight" && i/64 == TokenEOS) {
				t.Fatalf("%s[%d] differs between EOS biases", pt.name, i)
			}
		}
	}
}

func TestWriterRejectsMismatchedData(t *testing.T) {
	f := &File{Tensors: []Tensor{{Name: "x", Dims: []uint64{2, 2}, Data: []float32{1, 2, 3}}}}
	if _, err := f.WriteTo(io.Discard); err == nil {
		t.Error("a tensor with 3 values for dims [2 2] was written")
	}
	f = &File{KV: []KV{{"k", 1.5}}}
	if _, err := f.WriteTo(io.Discard); err == nil {
		t.Error("a float64 value was written though the writer does not support it")
	}
}
