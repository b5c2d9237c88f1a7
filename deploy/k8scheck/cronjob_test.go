package k8scheck

import (
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const manifest = "../kubernetes/cronjob.yaml"

// objects holds what the manifest declares, decoded strictly.
type objects struct {
	cronJobs []batchv1.CronJob
	claims   []corev1.PersistentVolumeClaim
}

// load decodes every document of the manifest into its API type; a field
// the type does not have, a duplicate field or a value of the wrong type
// fails.
func load(t *testing.T) objects {
	t.Helper()
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var objs objects
	for i, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(b), -1) {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s: document %d: %v", manifest, i+1, err)
		}
		switch meta.APIVersion + " " + meta.Kind {
		case "batch/v1 CronJob":
			var cj batchv1.CronJob
			err = yaml.UnmarshalStrict([]byte(doc), &cj)
			objs.cronJobs = append(objs.cronJobs, cj)
		case "v1 PersistentVolumeClaim":
			var pvc corev1.PersistentVolumeClaim
			err = yaml.UnmarshalStrict([]byte(doc), &pvc)
			objs.claims = append(objs.claims, pvc)
		default:
			t.Fatalf("%s: document %d: %s %s is not checked here: add it to load", manifest, i+1, meta.APIVersion, meta.Kind)
		}
		if err != nil {
			t.Fatalf("%s: document %d (%s): %v", manifest, i+1, meta.Kind, err)
		}
	}
	if len(objs.cronJobs) != 2 {
		t.Fatalf("%s: %d CronJobs, want 2 (nightly and weekly --full)", manifest, len(objs.cronJobs))
	}
	return objs
}

// TestManifestDecodesStrictly: every object is what its kind allows.
func TestManifestDecodesStrictly(t *testing.T) {
	load(t)
}

// TestCronJobs: each CronJob runs one at a time, gives SIGTERM time,
// fails at once on 2 and 4, passes run only flags that run has, keeps
// its files on the claim, and mounts the token as a whole Secret volume.
func TestCronJobs(t *testing.T) {
	objs := load(t)
	flags := runFlags(t)
	for _, cj := range objs.cronJobs {
		t.Run(cj.Name, func(t *testing.T) {
			if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
				t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
			}
			job := cj.Spec.JobTemplate.Spec
			pod := job.Template.Spec
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never (podFailurePolicy needs it)", pod.RestartPolicy)
			}
			if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 60 {
				t.Errorf("terminationGracePeriodSeconds %v, want 60 or more: SIGTERM lets requests finish", g)
			}
			c := container(t, pod)
			checkFailurePolicy(t, job, c.Name)
			args := c.Args
			if len(args) < 2 || args[0] != "run" {
				t.Fatalf("args %q, want run ... INPUT", args)
			}
			for _, a := range args[1 : len(args)-1] {
				name, _, _ := strings.Cut(a, "=")
				if !strings.HasPrefix(a, "--") || !flags[name] {
					t.Errorf("argument %q: not a flag of kapture-bulk run (give flags as --name=value)", a)
				}
			}
			data := mountOf(t, c, pod, "persistentVolumeClaim")
			claim := data.volume.PersistentVolumeClaim.ClaimName
			if !slices.ContainsFunc(objs.claims, func(p corev1.PersistentVolumeClaim) bool { return p.Name == claim }) {
				t.Errorf("claim %q is not in the manifest", claim)
			}
			for _, f := range []string{"--sync-state", "--summary-json"} {
				if p := flagValue(args, f); !under(p, data.mount.MountPath) {
					t.Errorf("%s %q is not on the claim (%s)", f, p, data.mount.MountPath)
				}
			}
			if in := args[len(args)-1]; !under(in, data.mount.MountPath) {
				t.Errorf("input %q is not on the claim", in)
			}
			token := mountOf(t, c, pod, "secret")
			if p := flagValue(args, "--token-file"); path.Dir(p) != token.mount.MountPath || token.mount.SubPath != "" {
				t.Errorf("--token-file %q: want a key of the Secret volume mounted whole at %s", p, token.mount.MountPath)
			}
			for _, ic := range pod.InitContainers {
				if len(ic.Command) == 3 && ic.Command[0] == "sh" {
					if out, err := exec.Command("sh", "-n", "-c", ic.Command[2]).CombinedOutput(); err != nil {
						t.Errorf("init container %s: %v: %s", ic.Name, err, out)
					}
				}
			}
		})
	}
}

// runFlags returns the flags kapture-bulk run lists in its help.
func runFlags(t *testing.T) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, "run", "--help").CombinedOutput()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(--[a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if !flags["--token-file"] {
		t.Fatalf("kapture-bulk run --help lists no --token-file:\n%s", out)
	}
	return flags
}

func container(t *testing.T, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == "kapture-bulk" {
			return c
		}
	}
	t.Fatal("no container named kapture-bulk")
	return corev1.Container{}
}

func checkFailurePolicy(t *testing.T, job batchv1.JobSpec, name string) {
	t.Helper()
	if job.PodFailurePolicy != nil {
		for _, r := range job.PodFailurePolicy.Rules {
			if r.Action == batchv1.PodFailurePolicyActionFailJob && r.OnExitCodes != nil &&
				r.OnExitCodes.ContainerName != nil && *r.OnExitCodes.ContainerName == name &&
				r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn &&
				slices.Equal(r.OnExitCodes.Values, []int32{2, 4}) {
				return
			}
		}
	}
	t.Errorf("no podFailurePolicy rule failing the Job on exit 2 or 4 of %s", name)
}

// mounted is a volume and where the container mounts it.
type mounted struct {
	volume corev1.Volume
	mount  corev1.VolumeMount
}

// mountOf returns the container's one mount of a volume of the kind.
func mountOf(t *testing.T, c corev1.Container, pod corev1.PodSpec, kind string) mounted {
	t.Helper()
	var found []mounted
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			if (kind == "secret" && v.Secret != nil) || (kind == "persistentVolumeClaim" && v.PersistentVolumeClaim != nil) {
				found = append(found, mounted{v, m})
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d mounts of a %s volume, want 1", len(found), kind)
	}
	return found[0]
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// under reports whether p is inside dir.
func under(p, dir string) bool {
	return p != "" && strings.HasPrefix(path.Clean(p), path.Clean(dir)+"/")
}
