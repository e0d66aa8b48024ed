package workload

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

func TestSyntheticTextIsExactReproducibleAndVaried(t *testing.T) {
	gen := func(seed uint64, n int) string { return SyntheticText(rand.New(rand.NewPCG(seed, 2)), n) }
	text := gen(42, 2000)
	words := strings.Fields(text)
	if len(words) != 2000 {
		t.Fatalf("%d words, want 2000", len(words))
	}
	if gen(42, 2000) != text {
		t.Error("the same seed gave another text")
	}
	if gen(43, 2000) == text {
		t.Error("another seed gave the same text")
	}
	count := map[string]int{}
	sentences := 0
	for i, w := range words {
		bare := strings.ToLower(strings.TrimSuffix(w, "."))
		count[bare]++
		if strings.HasSuffix(w, ".") {
			sentences++
		}
		if (i == 0 || strings.HasSuffix(words[i-1], ".")) && !unicode.IsUpper(rune(w[0])) {
			t.Fatalf("word %d %q starts a sentence in lower case", i, w)
		}
	}
	for w, n := range count {
		if n > len(words)/20 {
			t.Errorf("%q is %d of %d words: too repetitive for a fair tokenization", w, n, len(words))
		}
	}
	if len(count) < 150 || sentences < 2000/18 || sentences > 2000/5 || !strings.HasSuffix(text, ".") {
		t.Errorf("%d distinct words, %d sentences", len(count), sentences)
	}
	for _, r := range text {
		if r > unicode.MaxASCII || (!unicode.IsPrint(r) && r != ' ') {
			t.Fatalf("non-printable or non-ASCII %q", r)
		}
	}
	if gen(1, 0) != "" || len(strings.Fields(gen(1, 1))) != 1 {
		t.Error("0 and 1 words")
	}
}
