package writer_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// A run, then a resume of it: the resume reads back what the run
// recorded, in the order it was appended, and appends after it.
func Example() {
	dir, err := os.MkdirTemp("", "writer-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "updates.results.csv")
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

	w, err := writer.Open(path, writer.Create)
	if err != nil {
		panic(err)
	}
	err = w.Write([]writer.Result{ // one call per finished payload
		{TicketID: "713517204455", Status: writer.StatusSuccess, Message: "Ticket updated", Line: 2, HTTPStatus: 200, Attempts: 1, FinishedAt: at, Key: mustParse("k1f2e3d4c5b6a7988.0a1b2c3d4e5f6071")},
		{TicketID: "713517204456", Status: writer.StatusFailed, Message: "No Data found", Line: 3, HTTPStatus: 200, Attempts: 1, FinishedAt: at, Key: mustParse("k0a1b2c3d4e5f6071.1f2e3d4c5b6a7988")},
	})
	if err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}

	// Without a mode that allows it, an existing results file is refused.
	_, err = writer.Open(path, writer.Create)
	fmt.Println(errors.Is(err, writer.ErrExists))

	w, err = writer.Open(path, writer.Resume)
	if err != nil {
		panic(err)
	}
	defer w.Close()
	err = w.ReadBack(func(r writer.Row) error {
		fmt.Println(r.Line, r.Status, r.Key)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// true
	// 2 success k1f2e3d4c5b6a7988.0a1b2c3d4e5f6071
	// 3 failed k0a1b2c3d4e5f6071.1f2e3d4c5b6a7988
}

func mustParse(s string) rowkey.Key {
	k, err := rowkey.Parse(s)
	if err != nil {
		panic(err)
	}
	return k
}
