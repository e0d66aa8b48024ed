package gguf

import (
	"fmt"
	"math/rand/v2"
)

// The tiny model's shape (real-ollama.md, "The model").
const (
	EmbeddingLength = 64
	BlockCount      = 2
	HeadCount       = 4
	HeadCountKV     = 4
	FeedForward     = 128
	ContextLength   = 2048
	RopeFreqBase    = 10000
	RMSEpsilon      = 1e-5
	VocabSize       = 354
	// ParameterCount is the number of weights in all 21 tensors.
	ParameterCount = 127552
	// TensorCount is token_embd, 9 per block, output_norm and output.
	TensorCount = 3 + 9*BlockCount
	// FileSize is the size of the written file: a 9,536-byte header
	// (padded to the alignment) and 510,208 bytes of F32 weights.
	FileSize = 519744
)

// Token ids of the vocabulary: <unk> <s> </s>, the 256 byte tokens
// <0x00>..<0xFF>, "▁" (SentencePiece's space), then printable ASCII
// 0x21..0x7E.
const (
	TokenUnk       = 0
	TokenBOS       = 1
	TokenEOS       = 2
	TokenFirstByte = 3
	TokenSpace     = TokenFirstByte + 256 // "▁"
	TokenFirstChar = TokenSpace + 1       // "!"
)

// SentencePiece token types (llama.cpp's llama_token_type).
const (
	tokenNormal  int32 = 1
	tokenUnknown int32 = 2
	tokenControl int32 = 3
	tokenByte    int32 = 6
)

// Residual dimensions with a fixed role. Every other dimension is random.
//
//   - dimBias holds the same constant in every token's embedding, and no
//     layer writes to it, so after the final norm it is (almost) the same
//     number at every position: output.weight's entry for this dimension is a
//     per-token logit bias. It keeps <unk>, <s> and the byte tokens from ever
//     being generated (output is printable ASCII and spaces) and sets </s>'s
//     base logit.
//   - dimBOS is non-zero only in <s>'s embedding.
//   - dimPosition is written only by head 0 of block 0, whose queries are
//     zero: it attends uniformly to all n positions so far, and its value
//     reads dimBOS, so it writes (constant)/n. </s>'s logit gets -k/n from
//     it, so with a positive EOS bias </s> becomes more likely as the
//     sequence grows and, under greedy decoding too, eventually wins.
const (
	dimBias     = 0
	dimBOS      = 1
	dimPosition = 2
	firstRandom = 3
)

// design holds the scales of the weights, tuned against Ollama v0.11.4
// (test/ollama/README.md lists the stop lengths they give).
type design struct {
	biasConstant float64 // dimBias in every embedding
	bosIndicator float64 // dimBOS in <s>'s embedding
	embedStd     float64 // random dimensions of the embeddings
	qkvStd       float64 // attention projections
	outStd       float64 // attention output
	ffnStd       float64 // FFN gate and up
	downStd      float64 // FFN down
	// neverBias is the dimBias output weight of tokens that must never be
	// generated (<unk>, <s>, bytes, and </s> in "tiny").
	neverBias float64
	// eosBiasUnit is </s>'s dimBias output weight per unit of EOSBias.
	eosBiasUnit float64
	// positionWeight scales the 1/n signal into </s>'s logit when EOSBias
	// is positive.
	positionWeight float64
	// randomOutput is the spread of the printable tokens' output weights.
	randomOutput float64
	// antiRepeat subtracts each token's own embedding from its output
	// weights, so that the token just read is unlikely to come next.
	// Ollama v0.11.4 silently ends a stream, without its done line, after
	// more than 30 identical tokens in a row (llm/server.go "token repeat
	// limit"), and greedy decoding of random weights otherwise falls into
	// such runs.
	antiRepeat float64
}

var tinyDesign = design{
	biasConstant: 8, bosIndicator: 4, embedStd: 1,
	qkvStd: 0.25, outStd: 0.02, ffnStd: 0.25, downStd: 0.015,
	neverBias: -10, eosBiasUnit: 2.1, positionWeight: 800,
	randomOutput: 0.4, antiRepeat: 1.5,
}

// TinyOptions choose the random weights and how the model ends.
type TinyOptions struct {
	// Seed makes the weights, and so the output, reproducible.
	Seed uint64
	// EOSBias sets </s>'s logit. Negative: </s> stays ~50 logits below the
	// best token, so every generation runs to num_predict (model "tiny",
	// -1). Positive: </s>'s logit is EOSBias times ~11 minus a term that
	// shrinks as 1/sequence length, so generations stop by themselves, under
	// greedy decoding too (model "tiny-stop", +1: when prompt and output
	// reach about 260 tokens on Ollama v0.11.4); larger values stop sooner.
	EOSBias float64
}

// Vocabulary returns the tokens, scores and token types of the tiny model.
func Vocabulary() (tokens []string, scores []float32, types []int32) {
	tokens = append(tokens, "<unk>", "<s>", "</s>")
	types = append(types, tokenUnknown, tokenControl, tokenControl)
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokenByte)
	}
	tokens = append(tokens, "\u2581")
	types = append(types, tokenNormal)
	for c := byte(0x21); c <= 0x7e; c++ {
		tokens = append(tokens, string(c))
		types = append(types, tokenNormal)
	}
	// No token is longer than one character, so SentencePiece never merges
	// and the scores are never consulted; zero is what converters write for
	// byte and control tokens.
	scores = make([]float32, len(tokens))
	return tokens, scores, types
}

// Tiny builds the tiny llama model.
func Tiny(o TinyOptions) *File { return tinyWith(o, tinyDesign) }

func tinyWith(o TinyOptions, w design) *File {
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c6c6d62656e6368)) // "llmbench"
	const d, ff, hd = EmbeddingLength, FeedForward, EmbeddingLength / HeadCount
	normal := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	// matrix is [rows][cols] stored row-major: ggml dims {cols, rows}.
	at := func(m []float32, cols, row, col int) *float32 { return &m[row*cols+col] }

	embd := normal(VocabSize*d, w.embedStd)
	for tok := 0; tok < VocabSize; tok++ {
		*at(embd, d, tok, dimBias) = float32(w.biasConstant)
		*at(embd, d, tok, dimBOS) = 0
		*at(embd, d, tok, dimPosition) = 0
	}
	*at(embd, d, TokenBOS, dimBOS) = float32(w.bosIndicator)

	tensors := []Tensor{{Name: "token_embd.weight", Dims: []uint64{d, VocabSize}, Data: embd}}
	for b := 0; b < BlockCount; b++ {
		q := normal(d*d, w.qkvStd)
		k := normal(d*d, w.qkvStd)
		v := normal(d*d, w.qkvStd)
		out := normal(d*d, w.outStd)
		gate := normal(ff*d, w.ffnStd)
		up := normal(ff*d, w.ffnStd)
		down := normal(d*ff, w.downStd)
		for col := 0; col < d; col++ {
			for _, row := range []int{dimBias, dimBOS, dimPosition} {
				*at(out, d, row, col) = 0 // no attention writes
			}
		}
		for col := 0; col < ff; col++ {
			for _, row := range []int{dimBias, dimBOS, dimPosition} {
				*at(down, ff, row, col) = 0 // no FFN writes
			}
		}
		if b == 0 {
			// Head 0: zero queries give uniform attention over the
			// sequence; its first value reads dimBOS only, and only
			// dimPosition receives it.
			for row := 0; row < hd; row++ {
				for col := 0; col < d; col++ {
					*at(q, d, row, col) = 0
					*at(v, d, row, col) = 0
				}
			}
			*at(v, d, 0, dimBOS) = 1
			for row := 0; row < d; row++ {
				for col := 0; col < hd; col++ {
					*at(out, d, row, col) = 0
				}
			}
			*at(out, d, dimPosition, 0) = 1
		}
		p := fmt.Sprintf("blk.%d.", b)
		tensors = append(tensors,
			Tensor{Name: p + "attn_norm.weight", Dims: []uint64{d}, Data: ones(d)},
			Tensor{Name: p + "attn_q.weight", Dims: []uint64{d, d}, Data: q},
			Tensor{Name: p + "attn_k.weight", Dims: []uint64{d, d}, Data: k},
			Tensor{Name: p + "attn_v.weight", Dims: []uint64{d, d}, Data: v},
			Tensor{Name: p + "attn_output.weight", Dims: []uint64{d, d}, Data: out},
			Tensor{Name: p + "ffn_norm.weight", Dims: []uint64{d}, Data: ones(d)},
			Tensor{Name: p + "ffn_gate.weight", Dims: []uint64{d, ff}, Data: gate},
			Tensor{Name: p + "ffn_up.weight", Dims: []uint64{d, ff}, Data: up},
			Tensor{Name: p + "ffn_down.weight", Dims: []uint64{ff, d}, Data: down},
		)
	}

	output := make([]float32, VocabSize*d)
	for tok := 0; tok < VocabSize; tok++ {
		switch {
		case tok == TokenEOS:
			if o.EOSBias > 0 {
				*at(output, d, tok, dimBias) = float32(o.EOSBias * w.eosBiasUnit)
				*at(output, d, tok, dimPosition) = float32(-w.positionWeight)
			} else {
				*at(output, d, tok, dimBias) = float32(w.neverBias)
			}
		case tok < TokenSpace:
			*at(output, d, tok, dimBias) = float32(w.neverBias)
		default:
			for col := firstRandom; col < d; col++ {
				*at(output, d, tok, col) = float32(rng.NormFloat64()*w.randomOutput - w.antiRepeat/8*float64(*at(embd, d, tok, col)))
			}
		}
	}
	tensors = append(tensors,
		Tensor{Name: "output_norm.weight", Dims: []uint64{d}, Data: ones(d)},
		Tensor{Name: "output.weight", Dims: []uint64{d, VocabSize}, Data: output},
	)

	tokens, scores, types := Vocabulary()
	return &File{
		Alignment: DefaultAlignment,
		KV: []KV{
			{"general.architecture", "llama"},
			// Ollama drops general.name from /api/show and computes
			// general.parameter_count itself (fs/ggml/gguf.go).
			{"general.name", "kubectl-llmbench tiny"},
			{"general.alignment", uint32(DefaultAlignment)},
			{"general.file_type", uint32(0)}, // all F32
			{"llama.vocab_size", uint32(VocabSize)},
			{"llama.context_length", uint32(ContextLength)},
			{"llama.embedding_length", uint32(d)},
			{"llama.block_count", uint32(BlockCount)},
			{"llama.feed_forward_length", uint32(ff)},
			{"llama.rope.dimension_count", uint32(hd)},
			{"llama.rope.freq_base", float32(RopeFreqBase)},
			{"llama.attention.head_count", uint32(HeadCount)},
			{"llama.attention.head_count_kv", uint32(HeadCountKV)},
			{"llama.attention.layer_norm_rms_epsilon", float32(RMSEpsilon)},
			{"tokenizer.ggml.model", "llama"},
			{"tokenizer.ggml.tokens", tokens},
			{"tokenizer.ggml.scores", scores},
			{"tokenizer.ggml.token_type", types},
			{"tokenizer.ggml.bos_token_id", uint32(TokenBOS)},
			{"tokenizer.ggml.eos_token_id", uint32(TokenEOS)},
			{"tokenizer.ggml.unknown_token_id", uint32(TokenUnk)},
			{"tokenizer.ggml.add_bos_token", true},
			{"tokenizer.ggml.add_eos_token", false},
		},
		Tensors: tensors,
	}
}

// WriteTiny writes the tiny model to path.
func WriteTiny(path string, o TinyOptions) error {
	return Tiny(o).WriteFile(path)
}
