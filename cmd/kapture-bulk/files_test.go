package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// snapshot is what a folder holds: each entry's content, or a link's
// target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if target, err := os.Readlink(path); err == nil {
			got[e.Name()] = "-> " + target
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = string(b)
	}
	return got
}

// TestFilesClash: no file a command writes may be another of its files
// (the same file, a link to it, or the same path not yet there). Such a
// command exits 2, naming both, before it reads, writes or sends
// anything: not even the summary JSON is written.
func TestFilesClash(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string // "@" stands for the folder
		says  []string
	}{
		{"summary JSON over the input", nil,
			[]string{"run", "--summary-json", "@/in.csv", "@/in.csv"}, []string{"--summary-json @/in.csv would overwrite INPUT @/in.csv"}},
		{"metrics file over the input", nil,
			[]string{"run", "--metrics-file", "@/in.csv", "@/in.csv"}, []string{"--metrics-file @/in.csv would overwrite INPUT @/in.csv"}},
		{"summary JSON over the results", nil,
			[]string{"run", "--resume", "--summary-json", "@/in.results.csv", "@/in.csv"}, []string{"--summary-json", "--results @/in.results.csv"}},
		{"summary JSON over the sync state", nil,
			[]string{"run", "--sync-state", "@/s.db", "--summary-json", "@/s.db", "@/in.csv"}, []string{"--summary-json @/s.db", "--sync-state @/s.db"}},
		{"summary JSON's temporary file over the input", nil,
			[]string{"run", "--results", "@/r.csv", "--summary-json", "@/in", "@/in.tmp"}, []string{"the temporary file of --summary-json @/in.tmp", "INPUT @/in.tmp"}},
		{"summary JSON a link to the input", link("in.csv", "s.json"),
			[]string{"run", "--summary-json", "@/s.json", "@/in.csv"}, []string{"--summary-json @/s.json", "INPUT @/in.csv"}},
		{"results a link to where the summary JSON goes", link("new.json", "r.csv"),
			[]string{"run", "--results", "@/r.csv", "--summary-json", "@/new.json", "@/in.csv"}, []string{"--summary-json @/new.json", "--results @/r.csv"}},
		{"results a hard link to the input", hardLink("in.csv", "r.csv"),
			[]string{"run", "--results", "@/r.csv", "@/in.csv"}, []string{"--results @/r.csv", "INPUT @/in.csv"}},
		{"results over the token file", nil,
			[]string{"run", "--resume", "--token-file", "@/in.results.csv", "@/in.csv"}, []string{"--results", "--token-file"}},
		{"summary JSON over the CA file", nil,
			[]string{"run", "--ca-cert", "@/ca.pem", "--summary-json", "@/./ca.pem", "@/in.csv"}, []string{"--summary-json", "--ca-cert"}},
		{"results over the sync state's compaction copy", nil,
			[]string{"run", "--sync-state", "@/s.db", "--results", "@/s.db.compact", "@/in.csv"}, []string{"--results", "compaction copy of --sync-state"}},
		{"failed rows over the results", nil,
			[]string{"report", "--input", "@/in.csv", "--failed-rows", "@/in.results.csv", "@/in.results.csv"}, []string{"--failed-rows", "RESULTS"}},
		{"failed rows over the in-flight journal", nil,
			[]string{"report", "--input", "@/in.csv", "--failed-rows", "@/in.results.csv.inflight", "@/in.results.csv"}, []string{"--failed-rows", "the in-flight journal of RESULTS"}},
		{"failed rows' temporary file a link to the input", link("in.csv", "f.csv.tmp"),
			[]string{"report", "--input", "@/in.csv", "--failed-rows", "@/f.csv", "@/in.results.csv"}, []string{"the temporary file of --failed-rows", "--input @/in.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{
				"in.csv": "ticket_id,sub_status\n713516551148,CL\n", "in.tmp": "ticket_id,sub_status\n713516551148,CL\n",
				"in.results.csv": "ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint\n",
				"ca.pem":         "not read",
			} {
				writeTestFile(t, filepath.Join(dir, name), content)
			}
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := snapshot(t, dir)
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "@", dir)
			}
			if args[0] == "run" {
				args = append(args, "--base-url", srv.URL)
			}
			r := runOps(t, kapturetest.DefaultToken, false, nil, args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			for _, want := range tt.says {
				if want = strings.ReplaceAll(want, "@", dir); !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			after := snapshot(t, dir)
			for name, was := range before {
				if after[name] != was {
					t.Errorf("%s changed: %q, was %q", name, after[name], was)
				}
			}
			for name := range after {
				if _, ok := before[name]; !ok {
					t.Errorf("%s was created", name)
				}
			}
		})
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests reached the API, want none", n)
	}
}

// link returns a setup that makes name a symbolic link to target, which
// need not exist.
func link(target, name string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("symlink: %v", err)
		}
	}
}

// hardLink returns a setup that makes name a second name of target.
func hardLink(target, name string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.Link(filepath.Join(dir, target), filepath.Join(dir, name)); err != nil {
			t.Skipf("link: %v", err)
		}
	}
}

// TestEndFilesThroughALink: a --summary-json or --metrics-file that is a
// symbolic link is written where it points, and stays a link; one that
// points into a missing folder is refused (exit 2), naming both, and is
// left as it was.
func TestEndFilesThroughALink(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeTestFile(t, in, "ticket_id,sub_status\n713516551148,CL\n")
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	link("out/s.json", "s.json")(t, dir)
	link("out/m.prom", "m.prom")(t, dir)
	link(filepath.Join(dir, "gone", "s.json"), "dangling.json")(t, dir)
	run := func(args ...string) opsRun { return runOps(t, kapturetest.DefaultToken, false, nil, args...) }

	r := run("run", "--dry-run", "--summary-json", filepath.Join(dir, "s.json"), "--metrics-file", filepath.Join(dir, "m.prom"), in)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, name := range []string{"s.json", "m.prom"} {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "out", name)); err != nil {
			t.Errorf("%s was not written where it points: %v", name, err)
		}
	}

	dangling := filepath.Join(dir, "dangling.json")
	r = run("run", "--dry-run", "--summary-json", dangling, in)
	if r.code != exitUsage || !strings.Contains(r.stderr, dangling+" (a link to "+filepath.Join(dir, "gone", "s.json")+"): its folder does not exist") {
		t.Errorf("a link into a missing folder: exit %d, stderr %q; want 2, naming both", r.code, r.stderr)
	}
	if target, err := os.Readlink(dangling); err != nil || target != filepath.Join(dir, "gone", "s.json") {
		t.Errorf("the link became %q, %v", target, err)
	}
}
