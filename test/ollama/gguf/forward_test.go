package gguf

import (
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// forward is a plain llama forward pass over the tiny model (RMSNorm,
// RoPE "norm" pairs, causal multi-head attention, SwiGLU), written from the
// architecture rather than from llama.cpp, to check the design properties of
// the weights without a server.
type forward struct {
	t      map[string][]float32
	keys   [BlockCount][][]float32
	values [BlockCount][][]float32
	// residual after the last block, per position
	residual [][]float32
}

func newForward(f *File) *forward {
	m := map[string][]float32{}
	for _, t := range f.Tensors {
		m[t.Name] = t.Data
	}
	return &forward{t: m}
}

func rmsNorm(x, w []float32) []float32 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+RMSEpsilon)
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(float64(v)*s) * w[i]
	}
	return out
}

// matVec multiplies a ggml matrix with dims {in, out} by x.
func matVec(m []float32, in, out int, x []float32) []float32 {
	y := make([]float32, out)
	for r := 0; r < out; r++ {
		var s float32
		row := m[r*in : (r+1)*in]
		for c, v := range row {
			s += v * x[c]
		}
		y[r] = s
	}
	return y
}

func rope(v []float32, pos int) {
	const hd = EmbeddingLength / HeadCount
	for h := 0; h < HeadCount; h++ {
		for i := 0; i < hd; i += 2 {
			theta := float64(pos) * math.Pow(RopeFreqBase, -float64(i)/hd)
			c, s := float32(math.Cos(theta)), float32(math.Sin(theta))
			a, b := v[h*hd+i], v[h*hd+i+1]
			v[h*hd+i], v[h*hd+i+1] = a*c-b*s, a*s+b*c
		}
	}
}

// step feeds one token and returns the logits for the next.
func (f *forward) step(tok int) []float32 {
	const d, ff, hd = EmbeddingLength, FeedForward, EmbeddingLength / HeadCount
	pos := len(f.residual)
	x := append([]float32(nil), f.t["token_embd.weight"][tok*d:(tok+1)*d]...)
	for b := 0; b < BlockCount; b++ {
		p := "blk." + string(rune('0'+b)) + "."
		h := rmsNorm(x, f.t[p+"attn_norm.weight"])
		q := matVec(f.t[p+"attn_q.weight"], d, d, h)
		k := matVec(f.t[p+"attn_k.weight"], d, d, h)
		v := matVec(f.t[p+"attn_v.weight"], d, d, h)
		rope(q, pos)
		rope(k, pos)
		f.keys[b] = append(f.keys[b], k)
		f.values[b] = append(f.values[b], v)
		att := make([]float32, d)
		for head := 0; head < HeadCount; head++ {
			scores := make([]float64, pos+1)
			maxS := math.Inf(-1)
			for j := 0; j <= pos; j++ {
				var s float64
				for i := 0; i < hd; i++ {
					s += float64(q[head*hd+i]) * float64(f.keys[b][j][head*hd+i])
				}
				scores[j] = s / math.Sqrt(hd)
				maxS = math.Max(maxS, scores[j])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - maxS)
				sum += scores[j]
			}
			for j := range scores {
				for i := 0; i < hd; i++ {
					att[head*hd+i] += float32(scores[j]/sum) * f.values[b][j][head*hd+i]
				}
			}
		}
		o := matVec(f.t[p+"attn_output.weight"], d, d, att)
		for i := range x {
			x[i] += o[i]
		}
		h = rmsNorm(x, f.t[p+"ffn_norm.weight"])
		g := matVec(f.t[p+"ffn_gate.weight"], d, ff, h)
		u := matVec(f.t[p+"ffn_up.weight"], d, ff, h)
		for i := range g {
			g[i] = g[i] / (1 + float32(math.Exp(-float64(g[i])))) * u[i]
		}
		dn := matVec(f.t[p+"ffn_down.weight"], ff, d, g)
		for i := range x {
			x[i] += dn[i]
		}
	}
	f.residual = append(f.residual, x)
	return matVec(f.t["output.weight"], d, VocabSize, rmsNorm(x, f.t["output_norm.weight"]))
}

// promptTokens is SentencePiece on a vocabulary of single characters: "▁"
// for the leading space and every space, each printable character as
// itself.
func promptTokens(s string) []int {
	toks := []int{TokenBOS, TokenSpace}
	for _, c := range []byte(s) {
		switch {
		case c == ' ':
			toks = append(toks, TokenSpace)
		case c >= 0x21 && c <= 0x7e:
			toks = append(toks, TokenFirstChar+int(c-0x21))
		default:
			toks = append(toks, TokenFirstByte+int(c))
		}
	}
	return toks
}

func argmaxExcept(l []float32, skip int) (int, float32) {
	best, bv := -1, float32(math.Inf(-1))
	for i, v := range l {
		if i != skip && v > bv {
			best, bv = i, v
		}
	}
	return best, bv
}

// sampler imitates Ollama's default chain in llama.cpp: repeat penalty
// 1.1 over the last 64 tokens (prompt included), top_k 40, top_p 0.9, then
// temperature; temperature 0 is greedy.
type sampler struct {
	temp float64
	rng  *rand.Rand
	prev []int
}

func (s *sampler) accept(tok int) { s.prev = append(s.prev, tok) }

func (s *sampler) sample(logits []float32) int {
	l := make([]float64, len(logits))
	for i, v := range logits {
		l[i] = float64(v)
	}
	seen := map[int]bool{}
	for _, tok := range s.prev[max(0, len(s.prev)-64):] {
		if seen[tok] {
			continue
		}
		seen[tok] = true
		if l[tok] > 0 {
			l[tok] /= 1.1
		} else {
			l[tok] *= 1.1
		}
	}
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return l[idx[a]] > l[idx[b]] })
	if s.temp <= 0 {
		return idx[0]
	}
	idx = idx[:40]
	var z float64
	p := make([]float64, len(idx))
	for i, tok := range idx {
		p[i] = math.Exp(l[tok] - l[idx[0]])
		z += p[i]
	}
	var cum float64
	for i := range p {
		cum += p[i] / z
		if cum >= 0.9 {
			idx = idx[:i+1]
			break
		}
	}
	z = 0
	for i, tok := range idx {
		p[i] = math.Exp((l[tok] - l[idx[0]]) / s.temp)
		z += p[i]
	}
	u := s.rng.Float64() * z
	for i, tok := range idx {
		if u -= p[i]; u <= 0 {
			return tok
		}
	}
	return idx[len(idx)-1]
}

type generation struct {
	tokens       int     // generated, </s> excluded
	stopped      bool    // ended with </s>
	maxRun       int     // longest run of one token
	nonPrintable int     // tokens other than "▁" and printable ASCII
	maxEOSGap    float64 // </s>'s logit minus the best other's, at its highest
}

func generate(f *File, prompt string, temp float64, seed uint64, maxTokens int) generation {
	fw := newForward(f)
	s := &sampler{temp: temp, rng: rand.New(rand.NewPCG(seed, 1))}
	var logits []float32
	for _, tok := range promptTokens(prompt) {
		logits = fw.step(tok)
		s.accept(tok)
	}
	g := generation{maxEOSGap: math.Inf(-1)}
	run, prev := 0, -1
	for g.tokens < maxTokens {
		_, best := argmaxExcept(logits, TokenEOS)
		g.maxEOSGap = max(g.maxEOSGap, float64(logits[TokenEOS]-best))
		tok := s.sample(logits)
		if tok == TokenEOS {
			g.stopped = true
			return g
		}
		if tok == prev {
			run++
		} else {
			run = 1
		}
		g.maxRun, prev = max(g.maxRun, run), tok
		if tok < TokenSpace {
			g.nonPrintable++
		}
		g.tokens++
		s.accept(tok)
		logits = fw.step(tok)
	}
	return g
}

var testPrompts = []string{"hi", "Explain in a few sentences what a Kubernetes Service does.",
	"You are a helpful assistant. Answer clearly and concisely.\n\nExplain in a few sentences what a Kubernetes Service does."}

func TestTinyExplore(t *testing.T) {
	if os.Getenv("TINY_EXPLORE") == "" {
		t.Skip("set TINY_EXPLORE=1 to print stop lengths of the current design")
	}
	w := tinyDesign
	for _, kv := range strings.Fields(os.Getenv("TINY_EXPLORE")) {
		k, v, _ := strings.Cut(kv, "=")
		x, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "bias":
			w.biasConstant = x
		case "embed":
			w.embedStd = x
		case "qkv":
			w.qkvStd = x
		case "out":
			w.outStd = x
		case "ffn":
			w.ffnStd = x
		case "down":
			w.downStd = x
		case "never":
			w.neverBias = x
		case "eos":
			w.eosBiasUnit = x
		case "pos":
			w.positionWeight = x
		case "rand":
			w.randomOutput = x
		case "anti":
			w.antiRepeat = x
		}
	}
	for _, eos := range []float64{-1, 1} {
		f := tinyWith(TinyOptions{Seed: 1, EOSBias: eos}, w)
		for _, temp := range []float64{0, 0.8, 1} {
			for _, p := range testPrompts {
				var lens []int
				maxRun, stops := 0, 0
				for seed := uint64(0); seed < 8; seed++ {
					g := generate(f, p, temp, seed, 600)
					lens = append(lens, g.tokens)
					maxRun = max(maxRun, g.maxRun)
					if g.stopped {
						stops++
					}
					if temp == 0 {
						break
					}
				}
				sort.Ints(lens)
				t.Logf("eos %+g T=%.1f prompt %3d: stopped %d, lengths %v, longest run %d", eos, temp, len(p), stops, lens, maxRun)
			}
		}
	}
}

// TestTinyDesign checks, on the model's own arithmetic and Ollama's default
// sampling chain, what the end-to-end tests rely on: "tiny" never ends and
// never repeats a token 31 times (Ollama v0.11.4 cuts such streams off
// without a done line); "tiny-stop" ends under greedy decoding; both
// generate printable ASCII and spaces only. The real server's lengths are
// pinned by test/ollama's TestTinyModelsOnRealOllama.
func TestTinyDesign(t *testing.T) {
	cases := []struct {
		eos    float64
		prompt string
		temp   float64
	}{
		{-1, testPrompts[0], 0}, {-1, testPrompts[2], 1},
		{1, testPrompts[0], 0}, {1, testPrompts[1], 0}, {1, testPrompts[2], 0}, {1, testPrompts[0], 1},
	}
	for _, tc := range cases {
		g := generate(Tiny(TinyOptions{Seed: 1, EOSBias: tc.eos}), tc.prompt, tc.temp, 1, 300)
		t.Logf("EOS bias %+g, %3d-byte prompt, T=%g: %d tokens, stopped %v, longest run %d, </s> at best %.1f logits from the top",
			tc.eos, len(tc.prompt), tc.temp, g.tokens, g.stopped, g.maxRun, g.maxEOSGap)
		if g.nonPrintable > 0 {
			t.Errorf("%d tokens outside printable ASCII and ▁", g.nonPrintable)
		}
		if g.maxRun > 5 {
			t.Errorf("a token repeated %d times in a row", g.maxRun)
		}
		switch {
		case tc.eos < 0 && (g.stopped || g.maxEOSGap > -20):
			t.Errorf("tiny: stopped %v, </s> came within %.1f logits of the top", g.stopped, -g.maxEOSGap)
		case tc.eos > 0 && (!g.stopped || g.tokens < 20):
			t.Errorf("tiny-stop: %d tokens, stopped %v; want a stop after 20 to 300", g.tokens, g.stopped)
		}
	}
}
