// Package k8scheck checks deploy/kubernetes: its tests decode the objects
// strictly into the Kubernetes API types (an unknown or misplaced field
// fails), hold the CronJobs to what deploy/README.md promises, and run
// kapture-bulk as the pod would against a token file laid out, owned and
// moded as the kubelet mounts the Secret. It is a module of its own so
// that the API types stay out of kapture-bulk's go.mod.
package k8scheck
