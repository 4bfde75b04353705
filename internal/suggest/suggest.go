// Package suggest finds the known name nearest a mistyped one, for the "did
// you mean" of an unknown command, flag or variable.
package suggest

// Nearest is the candidate closest to word by edit distance (insertions,
// deletions, substitutions and swaps of two neighbours each count one), when
// it is close enough to be a typo: at most two edits, and fewer than half of
// word's length. The first of equally close candidates wins.
func Nearest(word string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(word, c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD == 0 || bestD > 2 || 2*bestD >= len(word) {
		return "", false
	}
	return best, true
}

// distance is the optimal string alignment distance between a and b, by
// bytes: names here are ASCII.
func distance(a, b string) int {
	// Three rows of the table: i-2, i-1 and i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
