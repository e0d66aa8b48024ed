package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// InspectOptions is `kubectl llmbench inspect`.
type InspectOptions struct {
	liveOptions
	scenario int
	raw      bool
	all      bool
}

func NewCmdInspect(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &InspectOptions{liveOptions: liveOptions{IOStreams: streams, kube: kube}}
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Show the exact request each engine gets and its stream as it arrives, event by event",
		Long: `Sends a scenario's first turn to each engine and shows what happened on the
wire: the HTTP request (method, URL, headers with secrets redacted, the JSON
body), the response status, every stream event with its arrival offset, and
what the tool parsed from it (TTFT, tokens, finish reason). A last table sets
the engines' dialects side by side: the endpoint, the max-tokens field, the
framing, how a stream ends, and where the token count comes from.

--raw writes the response bytes exactly as received instead of the events
(control characters are escaped when stdout is a terminal).`,
		Example: `  kubectl llmbench inspect --simulate --scenario 1
  kubectl llmbench inspect --target tgi=http://127.0.0.1:8080 --raw > tgi.stream
  kubectl llmbench inspect -n llm-serving --engines vllm --all-events`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.liveOptions.complete(); err != nil {
				return err
			}
			if err := o.validate("inspect"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd, "inspect")
	cmd.Flags().IntVar(&o.scenario, "scenario", 1, "which built-in scenario's first turn to send (kubectl llmbench demo --list)")
	cmd.Flags().BoolVar(&o.raw, "raw", false, "write the response bytes as received")
	cmd.Flags().BoolVar(&o.all, "all-events", false, "show every event (default: the first 8 and the last 4)")
	return cmd
}

func (o *InspectOptions) Run(ctx context.Context) error {
	ctx, story, clients, done, err := o.begin(ctx, o.scenario)
	if err != nil {
		return err
	}
	defer done()
	r := renderer(o.Out)
	var seen []inspected
	for _, c := range clients {
		in := inspected{target: c.Target, capture: &engine.Capture{}}
		client := *c
		client.HTTP = in.capture.Client(c.HTTP)
		client.Watch = &engine.Watch{Event: func(at time.Duration, payload []byte) {
			in.events = append(in.events, rawEvent{at, string(payload)})
		}}
		client.Do(ctx, story.FirstRequest(), time.Now(), &in.rec)
		seen = append(seen, in)
		if o.raw {
			if err := o.writeRaw(in); err != nil {
				return err
			}
			continue
		}
		o.writeInspected(r, in)
	}
	if o.raw {
		return nil
	}
	return writeDialects(o.Out, seen)
}

type rawEvent struct {
	at      time.Duration
	payload string
}

type inspected struct {
	target  engine.Target
	capture *engine.Capture
	events  []rawEvent
	rec     engine.Record
}

func (o *InspectOptions) writeRaw(in inspected) error {
	raw := in.capture.Raw()
	if o.tty() {
		// Exact bytes would let a stream drive the terminal.
		raw = []byte(escapeControls(string(raw)))
	}
	fmt.Fprintf(o.ErrOut, "%s: %s %s → %s, %d bytes\n", in.target.Name, in.capture.Method, redactURL(in.capture.URL), in.capture.Status, len(raw))
	_, err := o.Out.Write(raw)
	return err
}

func (o *InspectOptions) writeInspected(r *lipgloss.Renderer, in inspected) {
	w := o.Out
	st := newRaceStyles(r)
	c := in.capture
	fmt.Fprintf(w, "\n%s\n", st.title.Render(fmt.Sprintf("━━ %s · %s %s ━━", engineTitle(in.target.Name), c.Method, redactURL(c.URL))))
	fmt.Fprintln(w, st.title.Render("Request"))
	for _, h := range sortedHeaders(c.Header) {
		fmt.Fprintf(w, "  %s: %s\n", h, redactHeader(h, c.Header.Get(h)))
	}
	fmt.Fprintln(w, indentLines(colorJSON(r, c.Body), "  "))
	if c.Status == "" {
		fmt.Fprintf(w, "%s\n  no response: %s: %s\n", st.title.Render("Response"), in.rec.ErrorClass, safeText(in.rec.Error))
		return
	}
	fmt.Fprintf(w, "%s %s · %s\n", st.title.Render("Response"), c.Status, c.RespHeader.Get("Content-Type"))
	fmt.Fprintf(w, "%s (%d events, %d bytes)\n", st.title.Render("Stream"), len(in.events), len(c.Raw()))
	width := 100
	for i, ev := range in.events {
		if !o.all && len(in.events) > 12 && i == 8 {
			fmt.Fprintf(w, "  %s\n", st.dim.Render(fmt.Sprintf("… %d more events (--all-events) …", len(in.events)-12)))
		}
		if !o.all && len(in.events) > 12 && i >= 8 && i < len(in.events)-4 {
			continue
		}
		// Wrapped, not cut: the generated text sits at the end of an event.
		payload := ansi.Hardwrap(escapeControls(ev.payload), width, true)
		fmt.Fprintf(w, "  %s %s\n", st.dim.Render(fmt.Sprintf("+%8.1f ms", float64(ev.at)/float64(time.Millisecond))),
			strings.ReplaceAll(payload, "\n", "\n"+strings.Repeat(" ", 14)))
	}
	rec := in.rec
	fmt.Fprintln(w, st.title.Render("Parsed"))
	if !rec.OK {
		fmt.Fprintf(w, "  failed: %s: %s\n", rec.ErrorClass, safeText(rec.Error))
		return
	}
	fmt.Fprintf(w, "  TTFB %s · TTFT %s · E2E %s · %d output tokens (from %s) · %d prompt tokens · finish reason %q\n",
		export.MSText(*rec.TTFBMS), export.MSText(*rec.TTFTMS), export.MSText(*rec.E2EMS), rec.OutputTokens, rec.OutputTokensSource, rec.PromptTokens, rec.FinishReason)
}

// writeDialects sets the engines' request and stream dialects side by
// side, read from what was actually sent and parsed.
func writeDialects(w io.Writer, seen []inspected) error {
	header := []string{""}
	for _, in := range seen {
		header = append(header, engineTitle(in.target.Name))
	}
	rows := [][]string{{"Endpoint"}, {"Max tokens field"}, {"Framing"}, {"End of stream"}, {"Output tokens from"}, {"Server timings"}}
	for _, in := range seen {
		a := in.target.API
		tokens := a.TokensFrom()
		if in.rec.OutputTokensSource == engine.TokensFromChunks {
			tokens = "counted from chunks (the server sent no count)"
		}
		cells := []string{"POST " + a.Path(), maxTokensField(in.capture.Body), a.Framing(), a.EndOfStream(), tokens, a.ServerTimings()}
		for i := range rows {
			rows[i] = append(rows[i], cells[i])
		}
	}
	fmt.Fprintln(w, "\nDialects")
	return export.RenderRows(w, header, rows)
}

// maxTokensField finds where the request body asks for the output length.
func maxTokensField(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return "-"
	}
	for _, path := range [][]string{{"max_tokens"}, {"max_completion_tokens"}, {"parameters", "max_new_tokens"}, {"options", "num_predict"}} {
		var cur any = m
		for _, k := range path {
			obj, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = obj[k]
		}
		if cur != nil {
			return fmt.Sprintf("%s: %v", strings.Join(path, "."), cur)
		}
	}
	return "-"
}

func sortedHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// redactHeader hides credentials: a bearer token, an API key.
func redactHeader(name, value string) string {
	n := strings.ToLower(name)
	if n == "authorization" || n == "proxy-authorization" || n == "cookie" || strings.Contains(n, "key") || strings.Contains(n, "token") || strings.Contains(n, "secret") {
		if scheme, _, ok := strings.Cut(value, " "); ok {
			return scheme + " [redacted]"
		}
		return "[redacted]"
	}
	return value
}

// redactURL drops user info and query values (tokens in URLs).
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.Index(u[i+3:], "@"); at >= 0 && !strings.Contains(u[i+3:i+3+at], "/") {
			u = u[:i+3] + "[redacted]@" + u[i+3+at+1:]
		}
	}
	if q := strings.Index(u, "?"); q >= 0 {
		u = u[:q] + "?[redacted]"
	}
	return u
}

// escapeControls shows control characters (except newlines) as escapes.
func escapeControls(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// colorJSON pretty-prints a JSON body with keys, strings and literals in
// their own colours; a body that is not JSON is shown escaped.
func colorJSON(r *lipgloss.Renderer, body []byte) string {
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") != nil {
		return escapeControls(string(body))
	}
	key := r.NewStyle().Foreground(lipgloss.Color("4"))
	str := r.NewStyle().Foreground(lipgloss.Color("2"))
	lit := r.NewStyle().Foreground(lipgloss.Color("5"))
	s := pretty.String()
	var b strings.Builder
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			tok := escapeControls(s[i:j])
			rest := strings.TrimLeft(s[j:], " ")
			if strings.HasPrefix(rest, ":") {
				b.WriteString(key.Render(tok))
			} else {
				b.WriteString(str.Render(tok))
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(s) && !strings.ContainsRune(",]}\n ", rune(s[j])) {
				j++
			}
			b.WriteString(lit.Render(s[i:j]))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
