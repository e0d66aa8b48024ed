package cluster

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The worker Pods' layout: where the plan is mounted, where the journal
// is written, and the port of the worker's API.
const (
	WorkerPlanDir  = "/etc/llmbench"
	WorkerPlanKey  = "plan.json"
	WorkerDataDir  = "/var/lib/llmbench"
	WorkerPort     = 9090
	WorkerBinary   = "/kubectl-llmbench"
	WorkerUID      = 65532
	LabelRun       = "llmbench.io/run"
	LabelComponent = "app.kubernetes.io/component"
	// StartAnnotation on the ConfigMap records the agreed start instant.
	StartAnnotation  = "llmbench.io/start"
	apiKeySecretKey  = "api-key"
	controlSecretKey = "control-token"
	// ControlTokenEnv holds the token the worker's API asks of every
	// caller but the readiness probe.
	ControlTokenEnv = "LLMBENCH_CONTROL_TOKEN"
)

// LoadJob is the in-cluster load of one run (run --in-cluster): an
// Indexed Job of Workers Pods running the plugin's image in worker mode,
// the plan in a ConfigMap, and a ServiceAccount of their own that holds
// no rights at all (the workers talk to the engines and to the plugin,
// never to the API server, so they get no token either).
type LoadJob struct {
	Namespace string
	RunID     string
	Image     string
	Workers   int
	Plan      []byte
	// APIKeyRef, when set, is the Secret key the workers read the
	// engines' token from, by reference (--api-key-secret); APIKey, a
	// literal key (--api-key), goes into a Secret of the Job's own.
	APIKeyRef *corev1.SecretKeySelector
	APIKey    string
	// ControlToken is asked by the workers' API of every caller (the
	// plugin): without it, anything that reaches a worker's Pod could
	// start, stop or read it. It goes into the Job's Secret.
	ControlToken string
	// EngineNodes are the nodes the engines run on, which the workers
	// avoid so that they do not take the engines' CPUs.
	EngineNodes []string
	// CPU and Memory are each worker's requests (Memory is also its
	// limit: a leaking worker must not take the node down).
	CPU, Memory resource.Quantity
	// Deadline bounds the Job's life, in seconds.
	Deadline int64
	// TTL is how long a finished Job stays before Kubernetes deletes it
	// (and, through owner references, everything else), in seconds.
	TTL int32
}

// Name is the Job's (and ConfigMap's, ServiceAccount's, Secret's) name.
func (j LoadJob) Name() string { return JobName(j.RunID) }

var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// JobName is a DNS-1123 name for a run's Job: llmbench-<run id>, cut to
// leave the Job controller room for its Pods' suffixes.
func JobName(runID string) string {
	n := nameUnsafe.ReplaceAllString(strings.ToLower(runID), "-")
	n = strings.Trim(n, "-")
	n = strings.TrimPrefix(n, "test-")
	if n = "llmbench-" + n; len(n) > 52 {
		n = strings.TrimRight(n[:52], "-")
	}
	return n
}

func (j LoadJob) labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "kubectl-llmbench",
		LabelComponent:                 "load-worker",
		"app.kubernetes.io/managed-by": "kubectl-llmbench",
		LabelRun:                       j.Name(),
	}
}

// Selector selects the run's worker Pods.
func (j LoadJob) Selector() string { return LabelRun + "=" + j.Name() }

func (j LoadJob) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: j.Name(), Namespace: j.Namespace, Labels: j.labels()}
}

// ConfigMap holds the plan; the start instant is added as an annotation
// once every worker is ready.
func (j LoadJob) ConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: j.meta(),
		Data:       map[string]string{WorkerPlanKey: string(j.Plan)},
	}
}

// ServiceAccount is the workers' identity: bound to nothing, its token
// never mounted.
func (j LoadJob) ServiceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   j.meta(),
		AutomountServiceAccountToken: ptr.To(false),
	}
}

// Secret holds the workers' control token and a literal --api-key.
func (j LoadJob) Secret() *corev1.Secret {
	data := map[string]string{controlSecretKey: j.ControlToken}
	if j.APIKey != "" && j.APIKeyRef == nil {
		data[apiKeySecretKey] = j.APIKey
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: j.meta(),
		Type:       corev1.SecretTypeOpaque,
		StringData: data,
	}
}

func (j LoadJob) apiKeyRef() *corev1.SecretKeySelector {
	if j.APIKeyRef != nil {
		return j.APIKeyRef
	}
	if j.APIKey != "" {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: j.Name()}, Key: apiKeySecretKey}
	}
	return nil
}

// Job is the Indexed Job. It is created suspended: its ConfigMap,
// ServiceAccount and Secret are created next, owned by it, and only then
// is it resumed, so no Pod starts without them and one delete of the Job
// removes everything.
func (j LoadJob) Job() *batchv1.Job {
	n := int32(j.Workers)
	env := []corev1.EnvVar{
		{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}
	env = append(env, corev1.EnvVar{Name: ControlTokenEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: j.Name()}, Key: controlSecretKey}}})
	if ref := j.apiKeyRef(); ref != nil {
		env = append(env, corev1.EnvVar{Name: "LLMBENCH_API_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}})
	}
	memLimit := j.Memory.DeepCopy()
	container := corev1.Container{
		Name:    "worker",
		Image:   j.Image,
		Command: []string{WorkerBinary},
		// $(POD_IP) is expanded by the kubelet: the API listens on the
		// Pod's own address.
		Args: []string{"worker", "--plan", WorkerPlanDir + "/" + WorkerPlanKey, "--output-dir", WorkerDataDir,
			"--listen", "$(POD_IP):" + strconv.Itoa(WorkerPort)},
		Env:   env,
		Ports: []corev1.ContainerPort{{Name: "control", ContainerPort: WorkerPort, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(WorkerPort)}},
			PeriodSeconds: 1, FailureThreshold: 1,
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: j.CPU, corev1.ResourceMemory: j.Memory},
			// No CPU limit: throttling would be client delay in every
			// number; the memory limit keeps a leak to the worker.
			Limits: corev1.ResourceList{corev1.ResourceMemory: memLimit},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "plan", MountPath: WorkerPlanDir, ReadOnly: true},
			{Name: "data", MountPath: WorkerDataDir},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	pod := corev1.PodSpec{
		ServiceAccountName:           j.Name(),
		AutomountServiceAccountToken: ptr.To(false),
		RestartPolicy:                corev1.RestartPolicyNever,
		// A worker stopped by the plugin's delete has its stop and its
		// grace to finish: more than the plugin waits.
		TerminationGracePeriodSeconds: ptr.To[int64](30),
		// The image's user is non-root (WorkerUID); no UID is pinned here,
		// so OpenShift's restricted SCC may assign one of its range.
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{container},
		Volumes: []corev1.Volume{
			{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: j.Name()}}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("2Gi"))}}},
		},
		Affinity: j.affinity(),
	}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: j.meta(),
		Spec: batchv1.JobSpec{
			CompletionMode: ptr.To(batchv1.IndexedCompletion),
			Completions:    &n, Parallelism: &n,
			// A failed worker is not retried: rerun, its part would start
			// late and its requests would not overlap the others'. Its
			// index fails alone; the others go on.
			BackoffLimitPerIndex:    ptr.To[int32](0),
			MaxFailedIndexes:        &n,
			Suspend:                 ptr.To(true),
			TTLSecondsAfterFinished: ptr.To(j.TTL),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: j.labels()},
				Spec:       pod,
			},
		},
	}
	if j.Deadline > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr.To(j.Deadline)
	}
	return job
}

// affinity keeps workers off the engines' nodes and apart from each
// other where the cluster has room; preferred, not required, so a small
// cluster still runs them (the manifest then says which engine a worker
// shared its node with).
func (j LoadJob) affinity() *corev1.Affinity {
	a := &corev1.Affinity{
		PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 50,
			PodAffinityTerm: corev1.PodAffinityTerm{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelRun: j.Name()}},
				TopologyKey:   "kubernetes.io/hostname",
			},
		}}},
	}
	if len(j.EngineNodes) > 0 {
		a.NodeAffinity = &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 100,
			Preference: corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{
				Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: j.EngineNodes,
			}}},
		}}}
	}
	return a
}

// OwnedBy makes obj one of the Job's, so that deleting the Job (by hand,
// by its TTL, or by the plugin) deletes it too.
func OwnedBy(obj metav1.Object, job *batchv1.Job) {
	obj.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
		BlockOwnerDeletion: ptr.To(true),
	}})
}

// WorkerResources sizes a worker's requests from its part of the load:
// the client spends about a millisecond of CPU per request and holds
// about 64 KiB per open stream (README, make bench), with room above.
func WorkerResources(ratePerWorker float64, streamsPerWorker int) (cpu, memory resource.Quantity) {
	milli := 100 + int64(math.Ceil(ratePerWorker*2)) + int64(streamsPerWorker)/2
	mib := 64 + int64(math.Ceil(float64(streamsPerWorker)*128/1024))
	return *resource.NewMilliQuantity(milli, resource.DecimalSI), *resource.NewQuantity(mib<<20, resource.BinarySI)
}

// OperatorRole is the least a user needs in the namespace to run
// --in-cluster: find the engines, create and delete the run's Job and
// what it owns, watch its Pods and reach them through port-forward; a
// cluster test takes each verb away in turn and sees the run fail or
// leave its Job behind.
// Printed by --dry-run -o yaml and docs/cluster.md; nothing creates it.
func OperatorRole(namespace string) *rbacv1.Role {
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: "llmbench-operator", Namespace: namespace},
		Rules: []rbacv1.PolicyRule{
			// Discovery reads the Services and the Pods behind them; the
			// workers' Pods are watched by listing.
			{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: []string{"list"}},
			{APIGroups: []string{""}, Resources: []string{"pods/portforward"}, Verbs: []string{"create"}},
			// Created suspended, resumed once its ConfigMap exists, deleted
			// at the end (its garbage collection deletes the rest).
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "patch", "delete"}},
			// The plan, and the agreed start recorded on it.
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"create"}},
			// The workers' control token (and a literal --api-key;
			// --api-key-secret is passed by reference).
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		},
	}
}

// String names the Job for messages.
func (j LoadJob) String() string { return fmt.Sprintf("Job %s/%s", j.Namespace, j.Name()) }
