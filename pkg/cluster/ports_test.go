package cluster

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestContainerPort(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "sidecar", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}}},
		{Name: "engine", Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {Name: "http", ContainerPort: 8000}, {Name: "dns", ContainerPort: 5353}}},
	}}}
	cases := []struct {
		name    string
		sp      corev1.ServicePort
		want    int32
		wantErr string
	}{
		{"unset targetPort is the service port", corev1.ServicePort{Port: 80}, 80, ""},
		{"numeric targetPort as is", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)}, 8080, ""},
		{"named port found in the second container", corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")}, 8000, ""},
		{"named port skips UDP", corev1.ServicePort{Port: 53, TargetPort: intstr.FromString("dns")}, 5353, ""},
		{"unknown name is an error naming it", corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("api")}, 0, `no container port named "api"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ContainerPort(c.sp, pod)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %d, %v; want %d", got, err, c.want)
			}
		})
	}
}
