package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Client reaches one cluster with the user's kubeconfig credentials.
type Client struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	REST    *rest.Config
}

// NewClient builds the clients from a REST config (the kubeconfig loaded
// by kubectl's standard loaders, so exec and OIDC auth plugins work).
func NewClient(cfg *rest.Config) (*Client, error) {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a Kubernetes client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a Kubernetes client: %w", err)
	}
	return &Client{Kube: kc, Dynamic: dc, REST: cfg}, nil
}

// ServerVersion is the API server's gitVersion, or "" when it cannot be
// read.
func (c *Client) ServerVersion() string {
	v, err := c.Kube.Discovery().ServerVersion()
	if err != nil {
		return ""
	}
	return v.GitVersion
}

// explain turns an API error into one that says what to do: missing RBAC
// names the verb and resource needed.
func explain(err error, verb, resource, namespace string) error {
	if err == nil {
		return nil
	}
	where := fmt.Sprintf(" in namespace %q", namespace)
	nsFlag := " -n " + namespace
	if namespace == "" {
		where, nsFlag = " across namespaces", " -A"
	}
	switch {
	case apierrors.IsForbidden(err):
		return &PermissionError{Verb: verb, Resource: resource, Namespace: namespace,
			err: fmt.Errorf("permission denied: your account cannot %s %s%s; ask a cluster admin for it (check with: kubectl auth can-i %s %s%s): %w", verb, resource, where, verb, resource, nsFlag, err)}
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server rejected your credentials while trying to %s %s: log in again or check --kubeconfig/--context: %w", verb, resource, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timed out trying to %s %s%s: is the API server reachable? (--request-timeout raises the limit): %w", verb, resource, where, err)
	}
	return fmt.Errorf("cannot %s %s%s: %w", verb, resource, where, err)
}

// PermissionError is missing RBAC for one verb on one resource.
type PermissionError struct {
	Verb, Resource, Namespace string
	err                       error
}

func (e *PermissionError) Error() string { return e.err.Error() }
func (e *PermissionError) Unwrap() error { return e.err }

// SecretValue reads one key of a Secret with the user's own RBAC. The
// value is never logged or written.
func (c *Client) SecretValue(ctx context.Context, ns, name, key string) (string, error) {
	s, err := c.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", explain(err, "get", "secrets", ns)
	}
	v, ok := s.Data[key]
	if !ok {
		var have []string
		for k := range s.Data {
			have = append(have, k)
		}
		sort.Strings(have)
		return "", fmt.Errorf("secret %s/%s has no key %q (it has: %s)", ns, name, key, strings.Join(have, ", "))
	}
	return strings.TrimSpace(string(v)), nil
}
