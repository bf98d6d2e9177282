// Package k8scheck decodes rendered manifests strictly into the Kubernetes
// API types and Dapr's own resource types, at the Dapr version dapr/go.mod
// pins, so a misspelt field or annotation fails here rather than on a
// cluster. BLUEPRINT_K8S_MANIFESTS names the folder(s) to check, separated
// by the OS path list separator.
package k8scheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	configurationv1alpha1 "github.com/dapr/dapr/pkg/apis/configuration/v1alpha1"
	"github.com/dapr/dapr/pkg/injector/annotations"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Every annotation the injector reads that a rendering may use.
var knownAnnotations = map[string]bool{
	annotations.KeyEnabled:               true,
	annotations.KeyAppID:                 true,
	annotations.KeyAppPort:               true,
	annotations.KeyAppProtocol:           true,
	annotations.KeyConfig:                true,
	annotations.KeyLogLevel:              true,
	annotations.KeyEnableMetrics:         true,
	annotations.KeyAppMaxConcurrency:     true,
	annotations.KeyCPURequest:            true,
	annotations.KeyCPULimit:              true,
	annotations.KeyMemoryRequest:         true,
	annotations.KeyMemoryLimit:           true,
	annotations.KeyVolumeMountsReadOnly:  true,
	annotations.KeyVolumeMountsReadWrite: true,
	annotations.KeyEnableNativeSidecar:   true,
}

type typed struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func manifests(t *testing.T) []string {
	t.Helper()
	roots := os.Getenv("BLUEPRINT_K8S_MANIFESTS")
	if roots == "" {
		t.Skip("BLUEPRINT_K8S_MANIFESTS is not set: nothing rendered to check")
	}
	var files []string
	for _, root := range filepath.SplitList(roots) {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".yaml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", root, err)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no .yaml file under %s", roots)
	}
	return files
}

func documents(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
	return docs
}

// checkPod checks the Dapr annotations of a pod template.
func checkPod(meta metav1.ObjectMeta, spec corev1.PodSpec) error {
	for key := range meta.Annotations {
		if strings.HasPrefix(key, "dapr.io/") && !knownAnnotations[key] {
			return fmt.Errorf("annotation %s is not one of the injector's", key)
		}
	}
	if meta.Annotations[annotations.KeyEnabled] == "true" && meta.Annotations[annotations.KeyAppID] == "" {
		return fmt.Errorf("dapr.io/enabled without dapr.io/app-id")
	}
	if len(spec.Containers) == 0 {
		return fmt.Errorf("a pod without containers")
	}
	return nil
}

func decode(doc []byte) (string, error) {
	var head typed
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "", fmt.Errorf("not YAML: %w", err)
	}
	kind := head.APIVersion + " " + head.Kind
	switch kind {
	case "v1 Namespace":
		return kind, yaml.UnmarshalStrict(doc, &corev1.Namespace{})
	case "v1 ConfigMap":
		return kind, yaml.UnmarshalStrict(doc, &corev1.ConfigMap{})
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict(doc, &d); err != nil {
			return kind, err
		}
		return kind, checkPod(d.Spec.Template.ObjectMeta, d.Spec.Template.Spec)
	case "batch/v1 Job":
		var j batchv1.Job
		if err := yaml.UnmarshalStrict(doc, &j); err != nil {
			return kind, err
		}
		if j.Spec.Parallelism == nil || *j.Spec.Parallelism < 1 {
			return kind, fmt.Errorf("job %s without parallelism", j.Name)
		}
		a := j.Spec.Template.Spec.Affinity
		if a == nil || a.PodAffinity == nil || len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
			return kind, fmt.Errorf("job %s is not held to the app's node", j.Name)
		}
		return kind, checkPod(j.Spec.Template.ObjectMeta, j.Spec.Template.Spec)
	case "dapr.io/v1alpha1 Component":
		var c componentsv1alpha1.Component
		if err := yaml.UnmarshalStrict(doc, &c); err != nil {
			return kind, err
		}
		if c.Spec.Type == "" || c.Spec.Version == "" {
			return kind, fmt.Errorf("component %s without type or version", c.Name)
		}
		return kind, nil
	case "dapr.io/v1alpha1 Configuration":
		return kind, yaml.UnmarshalStrict(doc, &configurationv1alpha1.Configuration{})
	default:
		return kind, fmt.Errorf("unexpected resource %q", kind)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	counts := map[string]int{}
	for _, file := range manifests(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(data) {
			kind, err := decode(doc)
			if err != nil {
				t.Errorf("%s, document %d (%s): %v", file, i+1, kind, err)
			}
			counts[kind]++
		}
	}
	t.Logf("checked: %v", counts)
}

func TestUnknownFieldsAreErrors(t *testing.T) {
	doc := []byte("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  type: state.in-memory\n  version: v1\n  metadta: []\n")
	if _, err := decode(doc); err == nil {
		t.Fatal("a misspelt field decoded")
	}
	pod := metav1.ObjectMeta{Annotations: map[string]string{"dapr.io/app-max-concurency": "1"}}
	if err := checkPod(pod, corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}); err == nil {
		t.Fatal("a misspelt annotation passed")
	}
}
