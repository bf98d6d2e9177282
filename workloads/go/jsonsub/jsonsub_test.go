package jsonsub

import (
	"strings"
	"testing"
)

// Inputs at the edges of the subset: each either parses and prints back as
// want, or is ErrInvalid (want "").
func TestTheSubsetsEdges(t *testing.T) {
	cases := []struct{ in, want string }{
		{` {} `, `{}`},
		{"\t{\r\n\"a\" : 1 , \"b\":-0}\n", `{"a":1,"b":0}`},
		{`{"n":-9223372036854775808,"m":9223372036854775807}`, `{"n":-9223372036854775808,"m":9223372036854775807}`},
		{`{"n":9223372036854775808}`, ``},
		{`{"n":-9223372036854775809}`, ``},
		{`{"n":01}`, ``},
		{`{"n":1.0}`, ``},
		{`{"n":1e3}`, ``},
		{`{"n":+1}`, ``},
		{`{"n":-}`, ``},
		{`{"t":true,"f":false,"z":null}`, `{"t":true,"f":false,"z":null}`},
		{`{"t":tru}`, ``},
		{`{"o":{}}`, ``},
		{`{"a":[]}`, ``},
		{`[]`, ``},
		{`"s"`, ``},
		{`{"a":1,}`, ``},
		{`{"a":1}{}`, ``},
		{`{"a":1} x`, ``},
		{`{"a" 1}`, ``},
		{`{a:1}`, ``},
		{`{"a":1,"\u0061":2}`, ``}, // the same key once unescaped
		{`{"e":"\"\\\/\b\f\n\r\t\u0000\u001F\u00e9\uD83D\uDE00"}`, `{"e":"\"\\/\u0008\u000c\u000a\u000d\u0009\u0000\u001fé😀"}`},
		{`{"s":"\uD83D"}`, ``},       // a lone high surrogate
		{`{"s":"\uDE00"}`, ``},       // a lone low surrogate
		{`{"s":"\uD83D\u0041"}`, ``}, // a high one not followed by a low one
		{`{"s":"\u12"}`, ``},
		{`{"s":"\x"}`, ``},
		{"{\"s\":\"a\tb\"}", ``}, // a raw control character
		{`{"s":"é€😀 / DEL` + "\x7f" + `"}`, `{"s":"é€😀 / DEL` + "\x7f" + `"}`},
		{"{\"s\":\"\xff\"}", ``},         // not UTF-8
		{"{\"s\":\"\xed\xa0\x80\"}", ``}, // an encoded surrogate
		{"{\"s\":\"\xc0\xaf\"}", ``},     // overlong
		{`{"s":"unterminated}`, ``},
		{``, ``},
	}
	for _, c := range cases {
		obj, err := Parse([]byte(c.in))
		switch {
		case c.want == "" && err != ErrInvalid:
			t.Errorf("%q parsed as %v, want invalid JSON", c.in, obj)
		case c.want != "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want != "" && string(AppendObject(nil, obj)) != c.want:
			t.Errorf("%q printed as %s, want %s", c.in, AppendObject(nil, obj), c.want)
		}
	}
	if ErrInvalid.Error() != "invalid JSON" {
		t.Errorf("ErrInvalid = %q", ErrInvalid)
	}
}

func TestUnknownFieldNamesTheFirstInInputOrderUnescaped(t *testing.T) {
	obj, err := Parse([]byte(`{"key":1,"b\"x":2,"c":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := UnknownField(obj, "key", "c"); err == nil || err.Error() != `unknown field "b"x"` {
		t.Errorf("UnknownField = %v", err)
	}
	if err := UnknownField(obj, "key", "c", `b"x`); err != nil {
		t.Errorf("all known: %v", err)
	}
	if !strings.Contains(string(AppendString(nil, "\x7f\u2028<>&")), "\u2028<>&") {
		t.Error("AppendString escapes more than ABI.md says")
	}
}
