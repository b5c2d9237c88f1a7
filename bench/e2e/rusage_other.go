//go:build !unix

package main

import "os"

// maxRSS is not measured where rusage is not available.
func maxRSS(*os.ProcessState) int64 { return 0 }
