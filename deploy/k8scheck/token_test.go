//go:build linux

package k8scheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/internal/tokenfile/tokenfiletest"
	corev1 "k8s.io/api/core/v1"
)

// secretMount is the token file as the kubelet makes it for a pod, and
// the identity the pod's processes have.
type secretMount struct {
	mode              os.FileMode // the file's mode
	fileGID           int         // the file's group (its owner is root)
	uid, gid, fsGroup int         // the pod's user, group and fsGroup (-1: none)
	key               string      // the file's name
}

// kubeletMount derives, from a pod spec, the token file the kubelet
// mounts: mode defaultMode (0644 unless set); with fsGroup, group fsGroup
// and the group read bits added, as the kubelet's ownership change does
// for read-only volumes.
func kubeletMount(t *testing.T, pod corev1.PodSpec, tokenFile string) secretMount {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsUser == nil || sc.RunAsGroup == nil {
		t.Fatal("the pod sets no runAsUser and runAsGroup: the token test cannot know who reads the file")
	}
	m := secretMount{uid: int(*sc.RunAsUser), gid: int(*sc.RunAsGroup), fsGroup: -1,
		key: filepath.Base(tokenFile), mode: 0o644}
	token := mountOf(t, container(t, pod), pod, "secret")
	if dm := token.volume.Secret.DefaultMode; dm != nil {
		m.mode = os.FileMode(*dm)
	}
	if sc.FSGroup != nil {
		m.fsGroup = int(*sc.FSGroup)
		m.fileGID = m.fsGroup
		m.mode |= 0o440
	}
	return m
}

// TestCronJobTokenMountGivesNoWarning runs kapture-bulk as each CronJob's
// pod would (its user, group and fsGroup) on a token file laid out, owned
// and moded as the kubelet mounts the Secret: it reads the token and says
// nothing about who may read it. The same file outside a Secret volume
// (root-owned, 0644) is warned about, so the check did run.
func TestCronJobTokenMountGivesNoWarning(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the file is root's and kapture-bulk runs as the pod's user")
	}
	for _, cj := range load(t).cronJobs {
		t.Run(cj.Name, func(t *testing.T) {
			pod := cj.Spec.JobTemplate.Spec.Template.Spec
			m := kubeletMount(t, pod, flagValue(container(t, pod).Args, "--token-file"))
			dir := mkdir(t, filepath.Join(shared, cj.Name))
			path, err := tokenfiletest.KubeletSecret(dir, m.key, []byte("a-token-value\n"), m.mode)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, 0, m.fileGID); err != nil {
				t.Fatal(err)
			}
			if stderr := runAs(t, m, path); strings.Contains(stderr, "token file") {
				t.Errorf("mode %04o root:%d, run as %d:%d fsGroup %d: %s", m.mode, m.fileGID, m.uid, m.gid, m.fsGroup, stderr)
			}
			plain := filepath.Join(mkdir(t, filepath.Join(shared, cj.Name+"-plain")), "token")
			if err := os.WriteFile(plain, []byte("a-token-value\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(plain, 0, m.fileGID); err != nil {
				t.Fatal(err)
			}
			if stderr := runAs(t, m, plain); !strings.Contains(stderr, "the token file can be read by other users") {
				t.Errorf("0644 root:%d outside a Secret volume: %q, want a warning", m.fileGID, stderr)
			}
		})
	}
}

// runAs runs kapture-bulk run with the token file as the pod's user, up to
// the reading of the input (missing: exit 2, nothing sent), and returns
// its stderr.
func runAs(t *testing.T, m secretMount, tokenFile string) string {
	t.Helper()
	cmd := exec.Command(bin, "run", "--token-file", tokenFile, "--base-url", "http://127.0.0.1:9",
		filepath.Join(shared, "no-such-export.csv"))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + shared}
	cred := &syscall.Credential{Uid: uint32(m.uid), Gid: uint32(m.gid)}
	if m.fsGroup >= 0 {
		cred.Groups = []uint32{uint32(m.fsGroup)}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "no-such-export.csv") {
		t.Fatalf("kapture-bulk run: %v, want exit 2 for the missing input (so the token was read):\n%s", err, stderr.String())
	}
	return stderr.String()
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
