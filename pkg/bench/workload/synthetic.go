package workload

import (
	"math/rand/v2"
	"strings"
)

// syntheticWords are everyday English words of many lengths, so generated
// prompts tokenize like prose in every engine's tokenizer: no repeated
// word that one tokenizer merges into a few tokens and another does not.
var syntheticWords = strings.Fields(`
the a an of to in on for with from by at as into over under after before between through during
cluster node pod service request answer model engine token prompt latency memory network storage
team user operator manager platform weekend morning evening report question reason result change
window garden river mountain city village market kitchen library station harbor bridge forest
quick slow bright quiet careful simple ordinary gentle steady early late warm cold honest useful
build measure compare explain describe schedule deliver review improve reply travel follow listen
because while although unless whenever where which that who whose every each several many few
people history science music language weather season journey letter picture blanket teacher student
carefully quickly slowly clearly rarely often usually almost nearly perhaps already still again
seven twelve hundred thousand first second third last next other same different whole half
coffee bread apple paper pencil table chair door floor wall roof light shadow sound voice story
remember consider imagine notice decide prepare arrive return borrow gather divide repair protect
`)

// SyntheticText is words of readable, varied prose drawn from rng:
// sentences of 6 to 17 words, capitalised and ended with a full stop. The
// same seed gives the same text, so a run's prompts can be rebuilt.
func SyntheticText(rng *rand.Rand, words int) string {
	var b strings.Builder
	b.Grow(words * 7)
	left := 0 // words still to come in the current sentence
	for i := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		w := syntheticWords[rng.IntN(len(syntheticWords))]
		if left == 0 {
			left = 6 + rng.IntN(12)
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
		left--
		if left == 0 || i == words-1 {
			b.WriteByte('.')
		}
	}
	return b.String()
}
