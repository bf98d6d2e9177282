// Package jsonsub reads and writes the JSON subset of workloads/ABI.md ("The
// JSON subset the JSON workloads read and write"): one flat object whose
// values are strings, 64-bit integers, true, false or null, and its one
// compact output form. Every language implements the same rules by hand, so
// that every language accepts the same inputs and prints the same bytes;
// encoding/json would accept more (floats, nesting, duplicate keys) and
// escape differently (<, >, &, U+2028).
package jsonsub

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrInvalid is the answer for any input outside the subset; its text is
// the workloads' guest error.
var ErrInvalid = errors.New("invalid JSON")

// Kind is a member value's type.
type Kind uint8

const (
	String Kind = iota
	Int
	True
	False
	Null
)

// Value is one member value: Str for a String (unescaped UTF-8), Int for
// an Int.
type Value struct {
	Kind Kind
	Str  string
	Int  int64
}

// Member is one key and its value, keys unescaped.
type Member struct {
	Key   string
	Value Value
}

// Object is the members in input order.
type Object []Member

// Get is the value of key, if the object has it.
func (o Object) Get(key string) (Value, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return Value{}, false
}

// Parse reads one flat object, or returns ErrInvalid.
func Parse(input []byte) (Object, error) {
	if !utf8.Valid(input) { // also refuses surrogates and overlong forms
		return nil, ErrInvalid
	}
	p := parser{b: input}
	obj, ok := p.object()
	if !ok {
		return nil, ErrInvalid
	}
	p.space()
	if p.i != len(p.b) {
		return nil, ErrInvalid
	}
	return obj, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// eat skips whitespace and then c, if it is there.
func (p *parser) eat(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) object() (Object, bool) {
	if !p.eat('{') {
		return nil, false
	}
	obj := Object{}
	if p.eat('}') {
		return obj, true
	}
	for {
		p.space()
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return nil, false
		}
		if _, dup := obj.Get(key); dup {
			return nil, false
		}
		p.space()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		obj = append(obj, Member{key, v})
		if p.eat('}') {
			return obj, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

func (p *parser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) value() (Value, bool) {
	if p.i >= len(p.b) {
		return Value{}, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		s, ok := p.str()
		return Value{Kind: String, Str: s}, ok
	case c == '-' || '0' <= c && c <= '9':
		n, ok := p.integer()
		return Value{Kind: Int, Int: n}, ok
	case p.literal("true"):
		return Value{Kind: True}, true
	case p.literal("false"):
		return Value{Kind: False}, true
	case p.literal("null"):
		return Value{Kind: Null}, true
	}
	return Value{}, false
}

// integer reads -?(0|[1-9][0-9]*) within int64. A fraction or exponent
// after it is left for the caller, which then finds no ',' or '}'.
func (p *parser) integer() (int64, bool) {
	neg := p.b[p.i] == '-'
	if neg {
		p.i++
	}
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	// Accumulate negatively: -9223372036854775808 has no positive twin.
	var n int64
	for _, d := range digits {
		if n < (-1<<63)/10 {
			return 0, false
		}
		n *= 10
		if n < -1<<63+int64(d-'0') {
			return 0, false
		}
		n -= int64(d - '0')
	}
	if !neg {
		if n == -1<<63 {
			return 0, false
		}
		n = -n
	}
	return n, true
}

// str reads a string at p.i (which must be '"') and unescapes it.
func (p *parser) str() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	p.i++
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		// An escape.
		if p.i+1 >= len(p.b) {
			return "", false
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			switch {
			case 0xdc00 <= r && r <= 0xdfff: // a low surrogate on its own
				return "", false
			case 0xd800 <= r && r <= 0xdbff: // must pair with a low one
				if p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
					return "", false
				}
				p.i += 2
				lo, ok := p.hex4()
				if !ok || lo < 0xdc00 || lo > 0xdfff {
					return "", false
				}
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *parser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, true
}

// AppendString appends s in the output form: `"` and `\` escaped with a
// backslash, U+0000 to U+001F as \u00xx (lowercase hex), everything else
// as it is.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// AppendInt appends n in decimal.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// AppendValue appends v in the output form.
func AppendValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case String:
		return AppendString(dst, v.Str)
	case Int:
		return AppendInt(dst, v.Int)
	case True:
		return append(dst, "true"...)
	case False:
		return append(dst, "false"...)
	}
	return append(dst, "null"...)
}

// AppendObject appends members as one compact object, in the order given.
func AppendObject(dst []byte, members Object) []byte {
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, m.Key)
		dst = append(dst, ':')
		dst = AppendValue(dst, m.Value)
	}
	return append(dst, '}')
}

// UnknownField is the guest error for the first key of obj not in allowed:
// `unknown field "<key>"` with the key as it is, unescaped; nil if every
// key is allowed.
func UnknownField(obj Object, allowed ...string) error {
	for _, m := range obj {
		known := false
		for _, a := range allowed {
			known = known || m.Key == a
		}
		if !known {
			return errors.New(`unknown field "` + m.Key + `"`)
		}
	}
	return nil
}
