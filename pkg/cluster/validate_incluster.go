package cluster

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Checks of whether a namespace can run --in-cluster.
const (
	CheckInClusterRBAC        = "in-cluster-rbac"
	CheckInClusterQuota       = "in-cluster-quota"
	CheckInClusterPodSecurity = "in-cluster-pod-security"
	CheckInClusterImage       = "in-cluster-image"
)

// ValidateInCluster checks that j could run in its namespace: the
// user holds every verb of OperatorRole (asked of the API server, as
// kubectl auth can-i does), the ResourceQuotas leave room for its Pods,
// and the namespace's Pod Security level admits them.
func (c *Client) ValidateInCluster(ctx context.Context, j LoadJob) []Check {
	var out []Check
	add := func(name string, st Status, detail string) {
		out = append(out, Check{Name: name, Status: st, Detail: detail})
	}
	var missing []string
	for _, r := range OperatorRole(j.Namespace).Rules {
		for _, res := range r.Resources {
			resource, sub, _ := strings.Cut(res, "/")
			for _, verb := range r.Verbs {
				review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: j.Namespace, Group: r.APIGroups[0], Resource: resource, Subresource: sub, Verb: verb}}}
				got, err := c.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
				if err != nil {
					add(CheckInClusterRBAC, Warn, fmt.Sprintf("cannot ask the API server what you may do: %v", err))
					return out
				}
				if !got.Status.Allowed {
					missing = append(missing, verb+" "+res)
				}
			}
		}
	}
	if len(missing) > 0 {
		add(CheckInClusterRBAC, Fail, fmt.Sprintf("your account cannot %s in namespace %q: ask for the Role that kubectl llmbench run --in-cluster --dry-run -o yaml prints", strings.Join(missing, ", "), j.Namespace))
	} else {
		add(CheckInClusterRBAC, Pass, "you may create the load Job and what it owns, list its Pods and port-forward to them")
	}
	out = append(out, c.quotaCheck(ctx, j)...)
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, j.Namespace, metav1.GetOptions{})
	switch {
	case err != nil:
		add(CheckInClusterPodSecurity, Warn, fmt.Sprintf("cannot read namespace %q for its Pod Security labels (%v); the workers meet the restricted level", j.Namespace, err))
	default:
		level := ns.Labels["pod-security.kubernetes.io/enforce"]
		if level == "" {
			level = "the cluster's default"
		}
		add(CheckInClusterPodSecurity, Pass, fmt.Sprintf("enforce level %s: the workers meet restricted (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root, no token)", level))
	}
	if j.Image == "" {
		add(CheckInClusterImage, Fail, "no worker image: this development build has no published image; build one with make image and pass --image")
	} else {
		add(CheckInClusterImage, Pass, "workers run "+j.Image)
	}
	return out
}

// quotaCheck compares what the Job's Pods ask with what the namespace's
// ResourceQuotas have left.
func (c *Client) quotaCheck(ctx context.Context, j LoadJob) []Check {
	qs, err := c.Kube.CoreV1().ResourceQuotas(j.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return []Check{{Name: CheckInClusterQuota, Status: Warn, Detail: fmt.Sprintf("cannot read the ResourceQuotas (%v); a quota may refuse the workers' Pods", err)}}
	}
	n := int64(j.Workers)
	scale := func(q resource.Quantity) resource.Quantity {
		out := q.DeepCopy()
		out.Mul(n)
		return out
	}
	need := corev1.ResourceList{
		corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI), "count/pods": *resource.NewQuantity(n, resource.DecimalSI),
		"count/jobs.batch": resource.MustParse("1"), corev1.ResourceConfigMaps: resource.MustParse("1"), "count/configmaps": resource.MustParse("1"),
		corev1.ResourceRequestsCPU: scale(j.CPU), corev1.ResourceCPU: scale(j.CPU),
		corev1.ResourceRequestsMemory: scale(j.Memory), corev1.ResourceMemory: scale(j.Memory), corev1.ResourceLimitsMemory: scale(j.Memory),
	}
	var short []string
	for _, q := range qs.Items {
		for name, hard := range q.Status.Hard {
			want, ok := need[name]
			if !ok {
				continue
			}
			left := hard.DeepCopy()
			left.Sub(q.Status.Used[name])
			if left.Cmp(want) < 0 {
				short = append(short, fmt.Sprintf("%s of ResourceQuota %s has %s left, the %d worker(s) need %s", name, q.Name, left.String(), n, want.String()))
			}
		}
	}
	if len(short) > 0 {
		return []Check{{Name: CheckInClusterQuota, Status: Fail, Detail: strings.Join(short, "; ") + ": ask for more, or use fewer --workers"}}
	}
	detail := fmt.Sprintf("room for %d worker(s) of %s CPU and %s memory each", n, j.CPU.String(), j.Memory.String())
	if len(qs.Items) == 0 {
		detail = "no ResourceQuota in the namespace; " + detail
	}
	return []Check{{Name: CheckInClusterQuota, Status: Pass, Detail: detail}}
}
