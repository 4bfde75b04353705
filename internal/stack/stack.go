// Package stack grows the main goroutine's stack once, at package init,
// while the stack is shallow.
//
// A goroutine starts with a small stack and doubles it when a call needs
// more, and each doubling walks every frame on the stack to adjust it. Left
// alone, the start grows it in the middle of a deep recursion (urfave/cli
// compiles a regular expression at init), and callgrind counted about 60 k
// instructions for those walks, a sixth of go-floor's whole start. Growing
// it here, two frames deep, costs a few hundred. Packages are initialised in
// the order of their import paths once their own imports are, so this one
// (it imports nothing) runs before github.com/urfave/cli/v2.
package stack

func init() { grow() }

// grow needs an 8 KiB frame, so that the stack is 16 KiB on return: enough for urfave's init, and bigger costs more to allocate than it saves (measured).
//
//go:noinline
func grow() {
	var b [8 << 10]byte
	touch(b[:])
}

//go:noinline
func touch(b []byte) { b[len(b)-1] = 1 }
