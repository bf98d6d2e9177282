// Command transform is the transform workload (workloads/ABI.md): it
// normalises a flat JSON record, keys to snake case, secrets redacted,
// whitespace in strings collapsed, in input order. Pure.
package main

import (
	"errors"

	"blueprint-bench/workloads/go/guest"
	"blueprint-bench/workloads/go/jsonsub"
)

func init() { guest.Handle("transform", transform) }

// redacted are the (normalised) keys whose value is never passed on.
var redacted = map[string]bool{"password": true, "secret": true, "token": true, "ssn": true, "card_number": true}

func transform(input []byte) ([]byte, error) {
	obj, err := jsonsub.Parse(input)
	if err != nil {
		return nil, err
	}
	out := make(jsonsub.Object, 0, len(obj))
	for _, m := range obj {
		key := normaliseKey(m.Key)
		if _, dup := out.Get(key); dup {
			return nil, errors.New(`duplicate field "` + key + `" after key normalisation`)
		}
		v := m.Value
		switch {
		case redacted[key]:
			v = jsonsub.Value{Kind: jsonsub.String, Str: "[redacted]"}
		case v.Kind == jsonsub.String:
			v.Str = collapseSpace(v.Str)
			if key == "email" {
				v.Str = lowerASCII(v.Str)
			}
		}
		out = append(out, jsonsub.Member{Key: key, Value: v})
	}
	return jsonsub.AppendObject(make([]byte, 0, len(input)), out), nil
}

// normaliseKey lowercases ASCII letters and turns '-' and ' ' into '_';
// every other byte (non-ASCII included) stays.
func normaliseKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '-' || c == ' ':
			b[i] = '_'
		}
	}
	return string(b)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// collapseSpace drops leading and trailing ASCII whitespace and turns each
// run inside into one space.
func collapseSpace(s string) string {
	out := make([]byte, 0, len(s))
	pending := false
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			pending = len(out) > 0
			continue
		}
		if pending {
			out = append(out, ' ')
			pending = false
		}
		out = append(out, s[i])
	}
	return string(out)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }
