package cluster

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ContainerPort resolves a Service port to the port a Pod listens on, the
// way kubectl port-forward svc/NAME does: an unset targetPort means the
// Service port itself, a number is taken as is, and a name is looked up
// among the Pod's container ports.
func ContainerPort(sp corev1.ServicePort, pod *corev1.Pod) (int32, error) {
	tp := sp.TargetPort
	if tp.Type == intstr.String {
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
					return cp.ContainerPort, nil
				}
			}
		}
		return 0, fmt.Errorf("pod %s/%s has no container port named %q (the Service's targetPort for port %d)", pod.Namespace, pod.Name, tp.StrVal, sp.Port)
	}
	if tp.IntVal == 0 {
		return sp.Port, nil
	}
	return tp.IntVal, nil
}
