package export

import (
	"strings"
	"unicode"
)

// mdEscape makes untrusted text (model output, server error messages,
// model and engine names, prompts) inert wherever the report places it: a
// paragraph, a list item, a heading or a table cell. It is one line
// afterwards, and every character that could open markup is
// backslash-escaped, so the text renders as itself in any CommonMark/GFM
// viewer, and goldmark turns the escaped < > & into entities in the HTML.
func mdEscape(s string) string {
	s = oneLine(s)
	digits := leadingDigits(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]<>&|~", r):
			// emphasis, code spans, links and images, raw HTML and
			// autolinks, entities, table cells, strikethrough
			b.WriteByte('\\')
		case r == ':' && strings.HasPrefix(s[i:], "://"):
			// GitHub turns bare URLs into links; an escaped colon keeps an
			// error message's URL plain text.
			b.WriteByte('\\')
		case i == 0 && strings.ContainsRune("#+-", r),
			i == digits && digits > 0 && (r == '.' || r == ')') && (i+1 == len(s) || s[i+1] == ' '):
			// at the start of a list item these open a heading, a nested
			// list or a rule; "1. " an ordered list
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// leadingDigits is the byte index just after the digits s starts with.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// oneLine folds runs of white space (line breaks included) into one
// space and drops control and bidirectional-override characters, which
// could reorder what a reader sees.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0xFEFF:
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// mdExcerpt escapes at most n characters of untrusted text.
func mdExcerpt(s string, n int) string { return mdEscape(Truncate(oneLine(s), n)) }

// codeFence returns a backtick fence longer than any run of backticks in
// s, so the fenced text cannot close its block early.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
