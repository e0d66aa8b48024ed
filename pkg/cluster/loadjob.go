package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// CreateLoadJob creates the Job suspended, then what it owns, then
// resumes it. On any failure what was created is deleted again.
func (c *Client) CreateLoadJob(ctx context.Context, j LoadJob) (*batchv1.Job, error) {
	jobs := c.Kube.BatchV1().Jobs(j.Namespace)
	job, err := jobs.Create(ctx, j.Job(), metav1.CreateOptions{})
	if err != nil {
		return nil, explain(err, "create", "jobs", j.Namespace)
	}
	undo := func(err error) (*batchv1.Job, error) {
		if derr := c.DeleteLoadJob(context.WithoutCancel(ctx), j); derr != nil {
			err = fmt.Errorf("%w (and deleting the Job again failed: %v; delete it with kubectl delete job -n %s %s)", err, derr, j.Namespace, j.Name())
		}
		return nil, err
	}
	sa := j.ServiceAccount()
	OwnedBy(sa, job)
	if _, err := c.Kube.CoreV1().ServiceAccounts(j.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return undo(explain(err, "create", "serviceaccounts", j.Namespace))
	}
	cm := j.ConfigMap()
	OwnedBy(cm, job)
	if _, err := c.Kube.CoreV1().ConfigMaps(j.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		if apierrors.IsRequestEntityTooLargeError(err) || strings.Contains(err.Error(), "Too long") {
			err = fmt.Errorf("the run's plan (%d KiB: prompts, dataset, trace) is too large for a ConfigMap (1 MiB): use fewer prompts or a shorter trace with --in-cluster: %w", len(j.Plan)>>10, err)
			return undo(err)
		}
		return undo(explain(err, "create", "configmaps", j.Namespace))
	}
	sec := j.Secret()
	OwnedBy(sec, job)
	if _, err := c.Kube.CoreV1().Secrets(j.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return undo(explain(err, "create", "secrets", j.Namespace))
	}
	resume := []byte(`{"spec":{"suspend":false}}`)
	if job, err = jobs.Patch(ctx, j.Name(), types.MergePatchType, resume, metav1.PatchOptions{}); err != nil {
		return undo(explain(err, "patch", "jobs", j.Namespace))
	}
	return job, nil
}

// DeleteLoadJob deletes the Job; the garbage collector deletes its Pods
// and everything it owns.
func (c *Client) DeleteLoadJob(ctx context.Context, j LoadJob) error {
	err := c.Kube.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name(), metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return explain(err, "delete", "jobs", j.Namespace)
	}
	return nil
}

// AnnotateStart records the agreed start on the plan's ConfigMap.
func (c *Client) AnnotateStart(ctx context.Context, j LoadJob, at time.Time) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{StartAnnotation: at.UTC().Format(time.RFC3339Nano)}}})
	_, err := c.Kube.CoreV1().ConfigMaps(j.Namespace).Patch(ctx, j.Name(), types.MergePatchType, patch, metav1.PatchOptions{})
	return explain(err, "patch", "configmaps", j.Namespace)
}

// WorkerPod is one worker's Pod once it is ready.
type WorkerPod struct {
	Index int
	Name  string
	Node  string
}

// WaitWorkers waits until all of the Job's worker Pods are ready, and
// fails early, saying why, when one cannot be: an image that does not
// pull, a Pod that cannot be scheduled, a worker that exited.
func (c *Client) WaitWorkers(ctx context.Context, j LoadJob, log *slog.Logger) ([]WorkerPod, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pods := c.Kube.CoreV1().Pods(j.Namespace)
	lastSaid := ""
	for {
		l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: j.Selector()})
		if err != nil {
			return nil, explain(err, "list", "pods", j.Namespace)
		}
		ready, waiting, problems := workerStates(l.Items)
		if len(problems) > 0 {
			return nil, fmt.Errorf("the load workers of %s cannot run:\n  %s", j, strings.Join(problems, "\n  "))
		}
		if len(ready) == j.Workers {
			sort.Slice(ready, func(a, b int) bool { return ready[a].Index < ready[b].Index })
			return ready, nil
		}
		if s := strings.Join(waiting, "; "); s != lastSaid {
			log.Info("waiting for the load workers", "ready", len(ready), "of", j.Workers, "waiting", s)
			lastSaid = s
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d load workers ready (%s): %w", len(ready), j.Workers, strings.Join(waiting, "; "), ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// workerStates sorts the Job's Pods into ready ones, those still coming
// (with what they wait for) and those that never will.
func workerStates(pods []corev1.Pod) (ready []WorkerPod, waiting, problems []string) {
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		idx, err := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
		if err != nil {
			continue
		}
		switch p.Status.Phase {
		case corev1.PodFailed, corev1.PodSucceeded:
			problems = append(problems, fmt.Sprintf("worker %d (pod %s) exited before the start: %s", idx, p.Name, podExit(p)))
			continue
		}
		if podReady(p) {
			ready = append(ready, WorkerPod{Index: idx, Name: p.Name, Node: p.Spec.NodeName})
			continue
		}
		why := "starting"
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
					problems = append(problems, fmt.Sprintf("worker %d (pod %s): image %s does not pull (%s: %s): pass --image with an image the nodes can pull (make image builds one)", idx, p.Name, cs.Image, w.Reason, w.Message))
				case "CreateContainerConfigError", "CreateContainerError":
					problems = append(problems, fmt.Sprintf("worker %d (pod %s): %s: %s", idx, p.Name, w.Reason, w.Message))
				}
				why = w.Reason
			}
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				why = "unschedulable: " + cond.Message
			}
		}
		if p.Spec.NodeName == "" && why == "starting" {
			why = "not scheduled yet"
		}
		waiting = append(waiting, fmt.Sprintf("worker %d %s", idx, why))
	}
	return ready, waiting, problems
}

// podExit says how a Pod's worker ended: its termination message (the
// worker's last words) or exit code.
func podExit(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			msg := strings.TrimSpace(t.Message)
			if msg == "" {
				msg = t.Reason
			}
			return fmt.Sprintf("exit code %d: %s", t.ExitCode, msg)
		}
	}
	if p.Status.Message != "" {
		return p.Status.Message
	}
	return string(p.Status.Phase)
}

// WorkerGone says whether a worker's Pod is gone for good, and how. It
// lists (the Role has no get on Pods: list is what discovery needs).
func (c *Client) WorkerGone(ctx context.Context, ns, pod string) (bool, string) {
	l, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + pod})
	switch {
	case err != nil:
		return false, ""
	case len(l.Items) == 0:
		return true, "deleted"
	}
	p := &l.Items[0]
	switch {
	case p.DeletionTimestamp != nil:
		return true, "being deleted"
	case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
		return true, podExit(p)
	}
	return false, ""
}

// ForwardWorker opens a port-forward to a worker's API.
func (c *Client) ForwardWorker(ctx context.Context, ns, pod string, log *slog.Logger) (*Forward, error) {
	return c.PortForward(ctx, ns, func(ctx context.Context) (string, int32, error) {
		if gone, why := c.WorkerGone(ctx, ns, pod); gone {
			return "", 0, fmt.Errorf("worker pod %s: %s", pod, why)
		}
		return pod, WorkerPort, nil
	}, log)
}
