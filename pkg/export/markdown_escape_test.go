package export

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"
)

var hostileTexts = []string{
	evilText, evilModel, evilError,
	"**bold** _em_ ~~strike~~ `code`",
	"# heading", "- item", "+ item", "1. ordered", "12) ordered", "> quote", "---", "***", "===",
	"![img](http://evil.example/i.png)", "<http://evil.example>", "see http://evil.example/x and www.evil.example",
	"a | b | c", "&lt;script&gt; &amp; &#60;", "<!-- comment -->", "<img src=x onerror=alert(1)>",
	"trailing backslash \\", "tab\there\r\nand\u2028more", "bidi \u202Eevil\u202C text", "ctrl \x00\x07 chars",
	"[ref]: http://evil.example", "[x][ref]", "\\<script>", "`` double ``", "0.11.0", "3 failed",
}

func TestMdEscapeKeepsDigitsAndVersionsReadable(t *testing.T) {
	for in, want := range map[string]string{
		"0.11.0":                      "0.11.0",
		"meta-llama/Llama-3.1-8B":     "meta-llama/Llama-3.1-8B",
		"1. step":                     `1\. step`,
		"- x":                         `\- x`,
		"a|b":                         `a\|b`,
		"http://h:80/x":               `http\://h:80/x`,
		"two\nlines  and   spaces\t.": "two lines and spaces .",
	} {
		if got := mdEscape(in); got != want {
			t.Errorf("mdEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMdEscapeRendersAsText(t *testing.T) {
	for _, s := range hostileTexts {
		checkRendersAsText(t, s)
	}
}

// FuzzMdEscape: whatever a server sends, it renders as exactly its own
// text, in a list item and in a table cell, with no element of its own.
func FuzzMdEscape(f *testing.F) {
	for _, s := range hostileTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkRendersAsText(t, s) })
}

func checkRendersAsText(t *testing.T, s string) {
	t.Helper()
	esc := mdEscape(s)
	want := oneLine(s)
	gm := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))
	for _, md := range []string{"- " + esc + "\n", "| a | b |\n|---|---|\n| x | " + esc + " |\n"} {
		var out bytes.Buffer
		if err := gm.Convert([]byte(md), &out); err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(&out)
		if err != nil {
			t.Fatal(err)
		}
		var holder *html.Node
		for n := range doc.Descendants() {
			if n.Type != html.ElementNode {
				continue
			}
			switch n.Data {
			case "li", "td":
				holder = n // the last cell is the escaped text's
			case "html", "head", "body", "ul", "table", "thead", "tbody", "tr", "th":
			default:
				t.Errorf("%q became <%s> in %q", s, n.Data, md)
			}
		}
		if holder == nil {
			t.Errorf("%q broke the list or table: %q", s, out.String())
			continue
		}
		// Text, whole; goldmark may drop a lone trailing space.
		if got := textOf(holder); strings.TrimSpace(got) != strings.TrimSpace(want) {
			t.Errorf("%q renders as %q, want %q (markdown %q)", s, got, want, md)
		}
	}
}
