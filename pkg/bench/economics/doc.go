// Package economics turns measured throughput and latency into money and
// people's time: GPU prices per engine, cost per million tokens at the
// measured rate, and what slower answers cost the people who wait for
// them. It reads numbers, never records or HTTP.
package economics
