package scrape

import "slices"

// The DCGM exporter's fields a run reads: utilisation, framebuffer memory
// and power, per GPU (dcgm-exporter's default counters).
const (
	DCGMGPUUtil    = "DCGM_FI_DEV_GPU_UTIL"    // percent
	DCGMFBUsed     = "DCGM_FI_DEV_FB_USED"     // MiB
	DCGMFBFree     = "DCGM_FI_DEV_FB_FREE"     // MiB
	DCGMPowerUsage = "DCGM_FI_DEV_POWER_USAGE" // W
)

var dcgmFields = []string{DCGMGPUUtil, DCGMFBUsed, DCGMFBFree, DCGMPowerUsage}

// SelectDCGM keeps the fields above and, where the exporter labels GPUs
// with the Pod using them (its Kubernetes mode: namespace and pod labels)
// and pods ("namespace/name") are given, only the GPUs of those pods: the
// node's other GPUs belong to other workloads or to none, and a page that
// names none of the engine's has nothing to say about it. Without pod
// labels every GPU of the page is kept, the node's whole account.
func SelectDCGM(pods []string) func([]Sample) []Sample {
	return func(page []Sample) []Sample {
		var fields, mine []Sample
		labelled := false
		for _, s := range page {
			if !slices.Contains(dcgmFields, s.Metric) {
				continue
			}
			fields = append(fields, s)
			labelled = labelled || s.Labels["pod"] != ""
			if slices.Contains(pods, s.Labels["namespace"]+"/"+s.Labels["pod"]) {
				mine = append(mine, s)
			}
		}
		if labelled && len(pods) > 0 {
			return mine
		}
		return fields
	}
}
