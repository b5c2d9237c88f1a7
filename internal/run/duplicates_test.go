package run

import (
	"fmt"
	"testing"
)

func TestDuplicatesBoundedWindow(t *testing.T) {
	var d duplicates
	id := func(i int) string { return fmt.Sprintf("7%011d", i) }
	if d.seen(id(1)) || !d.seen(id(1)) {
		t.Fatal("a repeat right after was not noticed")
	}
	for i := 2; i < dupWindow+10; i++ {
		d.seen(id(i))
	}
	if !d.seen(id(2)) {
		t.Error("a repeat within the window was not noticed")
	}
	for i := dupWindow + 10; i < 4*dupWindow; i++ {
		d.seen(id(i))
	}
	if got := len(d.cur) + len(d.prev); got > 2*dupWindow {
		t.Errorf("%d hashes kept, want at most %d: memory grows with the file", got, 2*dupWindow)
	}
	if d.n != 2 {
		t.Errorf("n = %d, want 2", d.n)
	}
}
