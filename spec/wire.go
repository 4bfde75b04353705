package spec

import "fmt"

// The protobuf wire format, read by hand: varints, tags, and the skipping
// of a field value of any wire type. The binary spec forms need no more.
// google.golang.org/protobuf/encoding/protowire does the same, but linking
// it costs every container start its package initialisation (it pulls in
// internal/detrand, among others), whether a binary spec is read or not.
//
// The rules are protowire's: a varint is at most ten bytes and 64 bits; a
// tag's field number is 1 or more and fits in an int32 (a message's fields
// must also be at most 2^29-1: that check is the message decoder's); wire
// types 6 and 7 are reserved; a group ends with the end-group marker of its
// own field number, and groups nest at most maxGroupNesting deep.

// wireType is the low three bits of a tag.
type wireType uint8

const (
	wireVarint     wireType = 0
	wireFixed64    wireType = 1
	wireBytes      wireType = 2
	wireStartGroup wireType = 3
	wireEndGroup   wireType = 4
	wireFixed32    wireType = 5
)

const (
	// maxFieldNumber is the largest field number a message may use.
	maxFieldNumber = 1<<29 - 1
	// maxTagNumber is the largest field number a tag may carry: what
	// fits in an int32. Inside a skipped group, protowire checks no more.
	maxTagNumber = 1<<31 - 1
	// maxGroupNesting is how many groups may be open at once in a skipped
	// value: protowire's limit of 10,000 counts the groups inside the
	// outermost one.
	maxGroupNesting = 10_001
)

// wireFault is what is wrong with malformed wire format.
type wireFault uint8

const (
	faultTruncated   wireFault = iota + 1 // the input ends inside a tag or value
	faultOverflow                         // a varint longer than ten bytes or 64 bits
	faultFieldNumber                      // a field number of 0, or above what a tag may carry
	faultReserved                         // wire type 6 or 7
	faultEndGroup                         // an end-group marker with no group open, or another field's
	faultNesting                          // groups nested more than maxGroupNesting deep
)

// String says what is wrong with a field's value.
func (f wireFault) String() string {
	switch f {
	case faultTruncated:
		return "the data ends inside its value"
	case faultOverflow:
		return "its value is a varint longer than 64 bits"
	case faultFieldNumber:
		return "its field number is out of range"
	case faultReserved:
		return "it has a reserved wire type (6 or 7)"
	case faultEndGroup:
		return "an end-group marker that closes no group of this field"
	case faultNesting:
		return fmt.Sprintf("groups nested more than %d deep", maxGroupNesting)
	}
	return fmt.Sprintf("wireFault(%d)", uint8(f))
}

// tagFault says what is wrong with a tag.
func tagFault(f wireFault) string {
	switch f {
	case faultTruncated:
		return "the data ends inside a field's tag"
	case faultOverflow:
		return "a field's tag is a varint longer than 64 bits"
	case faultFieldNumber:
		return fmt.Sprintf("a field's tag has a field number out of range (1 to %d)", maxTagNumber)
	}
	return f.String()
}

// wireError is malformed binary protobuf: the byte offset (in the whole
// input) of the tag of the field at fault, the field's number, the message
// being read and the field's name when known, and what is wrong. It never
// holds the field's content.
type wireError struct {
	off   int
	num   int64  // 0 when the tag itself is at fault
	msg   string // "core.Secret", or "" at the top level of an unknown message
	field string // "key" for a field of the schema, else ""
	what  string
}

func (e *wireError) Error() string {
	switch {
	case e.num == 0 && e.msg != "":
		return fmt.Sprintf("at byte %d in a %s: %s", e.off, e.msg, e.what)
	case e.num == 0:
		return fmt.Sprintf("at byte %d: %s", e.off, e.what)
	case e.field != "":
		return fmt.Sprintf("at byte %d, field %d (%s.%s): %s", e.off, e.num, e.msg, e.field, e.what)
	case e.msg != "":
		return fmt.Sprintf("at byte %d, field %d of a %s: %s", e.off, e.num, e.msg, e.what)
	}
	return fmt.Sprintf("at byte %d, field %d: %s", e.off, e.num, e.what)
}

// readVarint reads the varint that begins at b[i]. It returns its value and
// the offset just past it.
func readVarint(b []byte, i int) (uint64, int, wireFault) {
	var v uint64
	for n := 0; n < 10; n++ {
		if i+n >= len(b) {
			return 0, 0, faultTruncated
		}
		c := b[i+n]
		if n == 9 && c > 1 {
			return 0, 0, faultOverflow // bits beyond the 64th, or an 11th byte
		}
		v |= uint64(c&0x7f) << (7 * n)
		if c < 0x80 {
			return v, i + n + 1, 0
		}
	}
	panic("unreachable: the tenth byte either ends the varint or overflows")
}

// readTag reads the tag that begins at b[i]: a field number of 1 to
// maxTagNumber and a wire type. It returns the offset just past it.
func readTag(b []byte, i int) (num int64, typ wireType, next int, fault wireFault) {
	v, next, fault := readVarint(b, i)
	if fault != 0 {
		return 0, 0, 0, fault
	}
	num = int64(v >> 3)
	if num < 1 || v>>3 > maxTagNumber {
		return 0, 0, 0, faultFieldNumber
	}
	return num, wireType(v & 7), next, 0
}

// readBytes reads the length-delimited value that begins at b[i] and
// returns where its content begins and ends.
func readBytes(b []byte, i int) (start, end int, fault wireFault) {
	n, start, fault := readVarint(b, i)
	if fault != 0 {
		return 0, 0, fault
	}
	if n > uint64(len(b)-start) {
		return 0, 0, faultTruncated
	}
	return start, start + int(n), 0
}

// skipValue skips the value that begins at b[i] of the field of number num
// and wire type typ whose tag begins at b[at], groups and all, and returns
// the offset just past it. On a fault it returns where the field at fault
// begins (at, or a field inside a group), and its number (0 for a bad tag).
func skipValue(b []byte, at, i int, num int64, typ wireType) (next int, faultAt int, faultNum int64, fault wireFault) {
	var open []int64 // the numbers of the groups open, innermost last
	for {
		switch typ {
		case wireVarint:
			_, i, fault = readVarint(b, i)
		case wireFixed64:
			if len(b)-i < 8 {
				fault = faultTruncated
			}
			i += 8
		case wireFixed32:
			if len(b)-i < 4 {
				fault = faultTruncated
			}
			i += 4
		case wireBytes:
			_, i, fault = readBytes(b, i)
		case wireStartGroup:
			if len(open) == maxGroupNesting {
				fault = faultNesting
				break
			}
			open = append(open, num)
		case wireEndGroup:
			if len(open) == 0 || open[len(open)-1] != num {
				fault = faultEndGroup
				break
			}
			open = open[:len(open)-1]
		default:
			fault = faultReserved
		}
		if fault != 0 {
			return 0, at, num, fault
		}
		if len(open) == 0 {
			return i, 0, 0, 0
		}
		// Inside a group: read the next field's tag.
		at = i
		num, typ, i, fault = readTag(b, i)
		if fault != 0 {
			return 0, at, 0, fault
		}
	}
}

// scanProto walks the top-level fields of a wire-format message and calls
// fn with each length-delimited one. It fails on malformed bytes. As
// protowire's ConsumeField does, it takes any field number a tag may carry.
func scanProto(b []byte, fn func(num int64, v []byte)) error {
	for i := 0; i < len(b); {
		at := i
		num, typ, next, fault := readTag(b, i)
		if fault != 0 {
			return &wireError{off: at, what: tagFault(fault)}
		}
		if typ == wireBytes {
			start, end, fault := readBytes(b, next)
			if fault != 0 {
				return &wireError{off: at, num: num, what: fault.String()}
			}
			fn(num, b[start:end])
			i = end
			continue
		}
		end, faultAt, faultNum, fault := skipValue(b, at, next, num, typ)
		if fault != 0 {
			return valueFault(at, faultAt, faultNum, "", "", fault)
		}
		i = end
	}
	return nil
}

// valueFault describes a fault in the value of the field whose tag is at
// tagAt, of number num, of message msg ("" if unknown) and name field ("" if
// not ours). A fault inside a group, at faultAt, is described as such.
func valueFault(tagAt, faultAt int, num int64, msg, field string, fault wireFault) error {
	if faultAt != tagAt {
		field = ""
		if msg == "" {
			msg = "group"
		} else {
			msg = "group in a " + msg
		}
	}
	if num == 0 {
		return &wireError{off: faultAt, msg: msg, what: tagFault(fault)}
	}
	return &wireError{off: faultAt, num: num, msg: msg, field: field, what: fault.String()}
}
