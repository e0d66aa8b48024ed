package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// TokenLength is how many tokens a prompt or an answer should have: a
// fixed count or a distribution, drawn per request (--input-tokens,
// --output-tokens).
//
//	512                 exactly 512
//	uniform:256-1024    every count from 256 to 1024 alike
//	normal:512,128      mean 512, standard deviation 128
//	lognormal:512,0.5   median 512, sigma 0.5 of the log (a long right tail)
//
// Every draw is at least 1 and at most Max when Max is set (the model's
// context).
type TokenLength struct {
	Kind string // fixed, uniform, normal, lognormal
	// A and B are the count (fixed), the bounds (uniform), mean and
	// standard deviation (normal), or median and log sigma (lognormal).
	A, B float64
	Max  int
}

// Kinds of TokenLength.
const (
	TokensFixed     = "fixed"
	TokensUniform   = "uniform"
	TokensNormal    = "normal"
	TokensLognormal = "lognormal"
)

// ParseTokenLength reads a TokenLength; field names the flag or key for
// the error.
func ParseTokenLength(s, field string) (TokenLength, error) {
	s = strings.TrimSpace(s)
	kind, spec, ok := strings.Cut(s, ":")
	if !ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return TokenLength{}, fmt.Errorf("%s %q: give a token count ≥ 1 (512) or a distribution: uniform:256-1024, normal:512,128, lognormal:512,0.5", field, s)
		}
		return TokenLength{Kind: TokensFixed, A: float64(n)}, nil
	}
	kind = strings.ToLower(strings.TrimSpace(kind))
	sep := ","
	if kind == TokensUniform {
		sep = "-"
	}
	lo, hi, ok := strings.Cut(spec, sep)
	a, errA := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	b, errB := strconv.ParseFloat(strings.TrimSpace(hi), 64)
	bad := !ok || errA != nil || errB != nil || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0)
	switch kind {
	case TokensUniform:
		if bad || a < 1 || b < a || a != math.Trunc(a) || b != math.Trunc(b) {
			return TokenLength{}, fmt.Errorf("%s %q: uniform takes whole bounds LOW-HIGH with 1 ≤ LOW ≤ HIGH, e.g. uniform:256-1024", field, s)
		}
	case TokensNormal:
		if bad || a < 1 || b < 0 {
			return TokenLength{}, fmt.Errorf("%s %q: normal takes MEAN,STDDEV with MEAN ≥ 1 and STDDEV ≥ 0, e.g. normal:512,128", field, s)
		}
	case TokensLognormal:
		if bad || a < 1 || b < 0 {
			return TokenLength{}, fmt.Errorf("%s %q: lognormal takes MEDIAN,SIGMA (of the log) with MEDIAN ≥ 1 and SIGMA ≥ 0, e.g. lognormal:512,0.5", field, s)
		}
	default:
		return TokenLength{}, fmt.Errorf("%s %q: unknown distribution %q; use a count (512), uniform:256-1024, normal:512,128 or lognormal:512,0.5", field, s, kind)
	}
	return TokenLength{Kind: kind, A: a, B: b}, nil
}

// Draw is one request's count.
func (t TokenLength) Draw(rng *rand.Rand) int {
	var v float64
	switch t.Kind {
	case TokensUniform:
		v = t.A + float64(rng.IntN(int(t.B-t.A)+1))
	case TokensNormal:
		v = math.Round(t.A + t.B*rng.NormFloat64())
	case TokensLognormal:
		v = math.Round(t.A * math.Exp(t.B*rng.NormFloat64()))
	default:
		v = t.A
	}
	n := int(math.Max(1, v))
	if t.Max > 0 && n > t.Max {
		n = t.Max
	}
	return n
}

func (t TokenLength) String() string {
	switch t.Kind {
	case TokensUniform:
		return fmt.Sprintf("uniform:%g-%g", t.A, t.B)
	case TokensNormal, TokensLognormal:
		return fmt.Sprintf("%s:%g,%g", t.Kind, t.A, t.B)
	}
	return strconv.Itoa(int(t.A))
}

// Typical are the lengths that stand for the distribution: the count, the
// bounds, or the mean or median.
func (t TokenLength) Typical() []int {
	clip := func(v float64) int {
		n := int(math.Max(1, math.Round(v)))
		if t.Max > 0 && n > t.Max {
			n = t.Max
		}
		return n
	}
	if t.Kind == TokensUniform {
		return []int{clip(t.A), clip(t.B)}
	}
	return []int{clip(t.A)}
}

// Largest is the most a draw can be before the context clips it: the
// count or the upper bound; unbounded distributions have none (0).
func (t TokenLength) Largest() int {
	switch t.Kind {
	case TokensFixed:
		return int(t.A)
	case TokensUniform:
		return int(t.B)
	}
	return 0
}

func (t TokenLength) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *TokenLength) UnmarshalText(b []byte) error {
	v, err := ParseTokenLength(string(b), "token length")
	if err != nil {
		return err
	}
	*t = v
	return nil
}
