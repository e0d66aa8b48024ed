package engine

// ColdLoadThresholdMS separates a model load from ordinary scheduling in
// Ollama's load_duration: a warm request reports about a millisecond of
// scheduling there, a model load from disk hundreds of milliseconds or more
// (real-ollama.md measured 0.7–1.1 ms warm and ~280 ms cold for a 520 KB
// model).
const ColdLoadThresholdMS = 100

// reconcile sets the fields that compare what the client measured with what
// the server says it spent, for engines that report per-request timings
// (Ollama's final object). The residual is what neither model work nor model
// loading explains: network, HTTP, client overhead and queueing in the
// server.
func reconcile(rec *Record) {
	if rec.ServerLoadMS == nil || rec.ServerPromptEvalMS == nil {
		return
	}
	rec.ColdStart = *rec.ServerLoadMS >= ColdLoadThresholdMS
	serverTTFT := *rec.ServerLoadMS + *rec.ServerPromptEvalMS
	rec.ServerTTFTMS = &serverTTFT
	if rec.TTFTMS != nil {
		residual := *rec.TTFTMS - serverTTFT
		rec.TTFTResidualMS = &residual
	}
	if rec.ServerTotalMS != nil && rec.ServerEvalMS != nil {
		// total_duration runs from the handler's start; what load, prompt
		// evaluation and generation do not cover is mostly the wait for a
		// parallel slot (OLLAMA_NUM_PARALLEL).
		wait := *rec.ServerTotalMS - *rec.ServerLoadMS - *rec.ServerPromptEvalMS - *rec.ServerEvalMS
		if wait < 0 {
			wait = 0
		}
		rec.ServerWaitMS = &wait
	}
	// Ollama documents its rate as eval_count / eval_duration; users
	// compare against that figure, so it is kept as is. The client's rate
	// counts the N−1 gaps after its first token, so for short outputs the
	// ratio of the two reads a little below 1 even with no loss.
	if rec.ServerEvalMS != nil && *rec.ServerEvalMS > 0 && rec.OutputTokens > 0 {
		v := float64(rec.OutputTokens) / (*rec.ServerEvalMS / 1000)
		rec.ServerDecodeTokensPerS = &v
	}
	if rec.OutputTokens >= 2 && rec.E2EMS != nil && rec.TTFTMS != nil && *rec.E2EMS > *rec.TTFTMS {
		v := float64(rec.OutputTokens-1) / ((*rec.E2EMS - *rec.TTFTMS) / 1000)
		rec.ClientDecodeTokensPerS = &v
	}
}
