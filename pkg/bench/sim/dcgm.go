package sim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The simulated GPU: an 80 GB card whose weights take a fixed share and
// whose KV cache pool fills as the engine's cache does.
const (
	gpuTotalMiB   = 81559
	gpuWeightsMiB = 16384
	gpuKVPoolMiB  = 57344
	gpuIdleW      = 70
	gpuMaxW       = 350
)

// dcgmHandler serves a DCGM exporter's page for the engine's one GPU, in
// dcgm-exporter's format (HELP and TYPE per field, the labels it puts on
// every GPU). GPU_UTIL is the share of the time since the previous scrape
// in which a sequence was running: DCGM samples whether a kernel ran.
func (e *backend) dcgmHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		now, busy := time.Now(), e.busy.total()
		e.gpuMu.Lock()
		util := 0.0
		if span := now.Sub(e.gpuLastAt); span > 0 {
			util = min(100, 100*float64(busy-e.gpuLastBusy)/float64(span))
		}
		e.gpuLastAt, e.gpuLastBusy = now, busy
		e.gpuMu.Unlock()
		kv := 0.0
		if e.kv != nil {
			kv = e.kv.usage()
		} else if running, _, _ := e.queueState(); e.prof.MaxBatch > 0 {
			kv = float64(running) / float64(e.prof.MaxBatch)
		}
		used := gpuWeightsMiB + int(kv*gpuKVPoolMiB)
		labels := fmt.Sprintf(`gpu="0",UUID="GPU-llmbench-sim-%s",pci_bus_id="00000000:00:1E.0",device="nvidia0",modelName="Simulated GPU",Hostname="llmbench-sim-%s",DCGM_FI_DRIVER_VERSION="0.0"`, e.kind, e.kind)
		var b strings.Builder
		field := func(name, typ, help string, v int) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %d\n", name, help, name, typ, name, labels, v)
		}
		field("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", 1755)
		field("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", int(util+0.5))
		field("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", gpuTotalMiB-used)
		field("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", used)
		field("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", gpuIdleW+int(util/100*(gpuMaxW-gpuIdleW)))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	})
	return mux
}
