package scrape

import "testing"

func TestSelectDCGMKeepsTheEnginesGPUs(t *testing.T) {
	s := func(metric, ns, pod string) Sample {
		return Sample{Metric: metric, Type: "gauge", Labels: map[string]string{"gpu": "0", "namespace": ns, "pod": pod}, Value: 1}
	}
	labelled := []Sample{s(DCGMGPUUtil, "a", "vllm-0"), s(DCGMGPUUtil, "b", "other"), s(DCGMGPUUtil, "", ""), s("DCGM_FI_DEV_SM_CLOCK", "a", "vllm-0"), s(DCGMPowerUsage, "a", "vllm-0")}
	if got := SelectDCGM([]string{"a/vllm-0"})(labelled); len(got) != 2 || got[0].Labels["pod"] != "vllm-0" || got[1].Metric != DCGMPowerUsage {
		t.Errorf("kubernetes mode: kept %+v, want the engine's utilisation and power", got)
	}
	if got := SelectDCGM([]string{"a/tgi-0"})(labelled); len(got) != 0 {
		t.Errorf("kubernetes mode, none of the engine's GPUs: kept %+v, want nothing", got)
	}
	plain := []Sample{s(DCGMGPUUtil, "", ""), s(DCGMFBUsed, "", ""), s("DCGM_FI_DEV_SM_CLOCK", "", "")}
	if got := SelectDCGM([]string{"a/vllm-0"})(plain); len(got) != 2 {
		t.Errorf("no pod labels: kept %+v, want the node's two read fields", got)
	}
}
