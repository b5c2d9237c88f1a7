// Command shape checks the size of the code a reader must hold in their
// head: no function over 80 lines and no file over 500 lines outside
// tests (STYLE.md). `make lint` runs it; it prints each excess and exits 1.
//
//	go run ./internal/tools/shape [DIR]
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	maxFuncLines = 80
	maxFileLines = 500
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	excess, err := check(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shape:", err)
		os.Exit(2)
	}
	for _, e := range excess {
		fmt.Println(e)
	}
	if len(excess) > 0 {
		os.Exit(1)
	}
}

// check returns one line for each function and file under root over its
// bound, tests and hidden folders left out.
func check(root string) ([]string, error) {
	var excess []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != root && strings.HasPrefix(d.Name(), "."):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if n := fset.File(f.Pos()).LineCount(); n > maxFileLines {
			excess = append(excess, fmt.Sprintf("%s: %d lines (at most %d a file)", path, n, maxFileLines))
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFuncLines {
				excess = append(excess, fmt.Sprintf("%s: func %s: %d lines (at most %d a function)", fset.Position(fn.Pos()), fn.Name.Name, n, maxFuncLines))
			}
		}
		return nil
	})
	return excess, err
}
